#include "pipeline/order_service.h"

namespace flashsale {

OrderService::OrderService(std::shared_ptr<OrderStore> store, StockReturner* returner, Counters* counters)
    : store_(std::move(store)), returner_(returner), counters_(counters) {}

Status OrderService::pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) {
  Status status = store_->pay(id, payment_id, amount, out);
  if (status.is_ok()) {
    bump(counters_->payments_accepted);
  } else if (status.code() == Code::order_cancelled) {
    return_stock(out);  // a late payment may have cancelled it just now
  }
  return status;
}

Status OrderService::cancel(OrderId id, UserId user_id, Order* out) {
  Status status = store_->cancel(id, user_id, out);
  if (status.is_ok()) {
    bump(counters_->cancels_accepted);
    return_stock(out);
  }
  return status;
}

void OrderService::return_stock(Order* order) {
  // Best effort: the return stays pending on failure (or while the admit
  // stage has no stock for the product) and the expiry worker retries it;
  // the caller's answer does not depend on it.
  Status status = returner_->return_order(*order);
  if (status.is_ok()) {
    order->stock_return_pending = false;
  } else if (status.code() != Code::not_preloaded) {
    bump(counters_->stock_return_failures);
  }
}

}  // namespace flashsale
