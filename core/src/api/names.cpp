// Stable wire names of codes, request states and order states, and how the
// lifecycle moves a product's totals, used by the HTTP layer and by
// backends that store states as text.
#include "flashsale/order_store.h"
#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

const char* code_name(Code code) noexcept {
  switch (code) {
    case Code::ok:
      return "ok";
    case Code::invalid_argument:
      return "invalid_argument";
    case Code::not_found:
      return "not_found";
    case Code::sold_out:
      return "sold_out";
    case Code::already_purchased:
      return "already_purchased";
    case Code::not_preloaded:
      return "not_preloaded";
    case Code::sale_not_active:
      return "sale_not_active";
    case Code::idempotency_key_reused:
      return "idempotency_key_reused";
    case Code::unavailable:
      return "unavailable";
    case Code::internal:
      return "internal";
    case Code::rate_limited:
      return "rate_limited";
    case Code::already_paid:
      return "already_paid";
    case Code::order_cancelled:
      return "order_cancelled";
    case Code::amount_mismatch:
      return "amount_mismatch";
    case Code::sale_paused:
      return "sale_paused";
  }
  return "internal";
}

const char* status_name(RequestStatus status) noexcept {
  switch (status) {
    case RequestStatus::pending:
      return "pending";
    case RequestStatus::success:
      return "success";
    case RequestStatus::failed:
      return "failed";
  }
  return "failed";
}

const char* order_status_name(OrderStatus status) noexcept {
  switch (status) {
    case OrderStatus::awaiting_payment:
      return "awaiting_payment";
    case OrderStatus::paid:
      return "paid";
    case OrderStatus::cancelled:
      return "cancelled";
  }
  return "cancelled";
}

void ProductSales::count_order_created(std::int64_t quantity) noexcept {
  ++orders;
  ++orders_awaiting_payment;
  quantity_awaiting_payment += quantity;
}

void ProductSales::count_order_paid(std::int64_t quantity) noexcept {
  --orders_awaiting_payment;
  quantity_awaiting_payment -= quantity;
  ++orders_paid;
  quantity_paid += quantity;
}

void ProductSales::count_order_cancelled(std::int64_t quantity) noexcept {
  --orders_awaiting_payment;
  quantity_awaiting_payment -= quantity;
  ++orders_cancelled;
  quantity_cancelled += quantity;
  quantity_returns_pending += quantity;
}

void ProductSales::count_top_up_recorded(std::int64_t quantity) noexcept {
  quantity_added += quantity;
  quantity_top_ups_pending += quantity;
}

}  // namespace flashsale
