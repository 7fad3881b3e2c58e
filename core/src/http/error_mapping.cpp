#include "http/error_mapping.h"

#include "http/json.h"

namespace flashsale {

HttpError http_error_for(Code code) noexcept {
  switch (code) {
    case Code::ok:
      return {200, "ok"};
    case Code::invalid_argument:
      return {400, "invalid_request"};
    case Code::not_found:
      return {404, "not_found"};
    case Code::sold_out:
      return {409, "sold_out"};
    case Code::already_purchased:
      return {409, "already_purchased"};
    case Code::not_preloaded:
      return {409, "not_preloaded"};
    case Code::sale_not_active:
      return {409, "sale_not_active"};
    case Code::idempotency_key_reused:
      return {422, "idempotency_key_reused"};
    case Code::unavailable:
      return {503, "backend_unavailable"};
    case Code::internal:
      return {500, "internal"};
    case Code::rate_limited:
      return {429, "rate_limited"};
    case Code::already_paid:
      return {409, "already_paid"};
    case Code::order_cancelled:
      return {409, "order_cancelled"};
    case Code::amount_mismatch:
      return {422, "amount_mismatch"};
    case Code::sale_paused:
      return {409, "sale_paused"};
  }
  return {500, "internal"};
}

std::string error_body(const char* code, const std::string& message) {
  std::string inner = JsonWriter().field("code", code).field("message", message).done();
  return JsonWriter().raw("error", inner).done();
}

}  // namespace flashsale
