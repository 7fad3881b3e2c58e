#include "pipeline/buy_service.h"

#include "flashsale/clock.h"
#include "pipeline/request_id.h"

namespace flashsale {

BuyService::BuyService(std::shared_ptr<RateLimiter> ratelimit, std::shared_ptr<Admission> admission, Catalog* catalog,
                       Counters* counters)
    : ratelimit_(std::move(ratelimit)), admission_(std::move(admission)), catalog_(catalog), counters_(counters) {}

BuyOutcome BuyService::buy(const BuyRequest& request) {
  BuyOutcome outcome;
  // Rate-limit before judging the body, so a flood of garbage is limited too;
  // without a usable user the client address is the subject.
  std::string subject = request.has_user ? "u:" + std::to_string(request.user_id) : "ip:" + request.client_ip;
  bool allowed = true;
  if (!ratelimit_->allow(subject, &allowed).is_ok()) {
    bump(counters_->ratelimit_fail_open);  // a limiter outage must not stop the sale
    allowed = true;
  }
  if (!allowed) {
    bump(counters_->rate_limited);
    outcome.rate_limited = true;
    return outcome;
  }

  if (!request.invalid.empty()) {
    outcome.status = {Code::invalid_argument, request.invalid};
  } else if (request.quantity < 1 || request.quantity > kMaxQuantity) {
    outcome.status = {Code::invalid_argument, "quantity must be between 1 and " + std::to_string(kMaxQuantity)};
  } else if (request.idempotency_key.size() > kMaxIdempotencyKey) {
    outcome.status = {Code::invalid_argument, "X-Idempotency-Key must be at most 128 characters"};
  }
  if (!outcome.status.is_ok()) {
    bump(counters_->buy_rejected);
    return outcome;
  }

  Product product;
  Status found = catalog_->find(request.product_id, &product);
  if (!found.is_ok()) {
    bump(counters_->buy_rejected);
    outcome.status = found.code() == Code::not_found
                         ? Status(Code::not_found, "product " + std::to_string(request.product_id) + " does not exist")
                         : found;
    return outcome;
  }

  AdmitRequest admit;
  admit.event.request_id = new_request_id();
  admit.event.user_id = request.user_id;
  admit.event.product_id = request.product_id;
  admit.event.quantity = static_cast<std::int32_t>(request.quantity);
  admit.event.unit_price = product.sale_price;
  admit.event.accepted_ms = now_ms();
  admit.idempotency_key = request.idempotency_key;
  AdmitResult result = admission_->admit(admit);
  outcome.status = result.status;
  outcome.request_id = result.request_id;
  outcome.replayed = result.replayed;
  bump(outcome.status.is_ok() ? counters_->buy_accepted : counters_->buy_rejected);
  return outcome;
}

}  // namespace flashsale
