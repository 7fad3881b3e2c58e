// The order lifecycle as the API sees it: read, pay and cancel an order in
// the persist stage (which decides every move in one conditional write), and
// hand a cancelled order's stock back at once, so its buyer can buy again
// without waiting for the expiry worker. Should that return fail, the worker
// finishes it.
#pragma once

#include <memory>
#include <string>

#include "flashsale/order_store.h"
#include "pipeline/counters.h"
#include "pipeline/stock_returner.h"

namespace flashsale {

class OrderService {
 public:
  OrderService(std::shared_ptr<OrderStore> store, StockReturner* returner, Counters* counters);

  Status find(OrderId id, Order* out) { return store_->find_order(id, out); }
  // As OrderStore::pay and OrderStore::cancel.
  Status pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out);
  Status cancel(OrderId id, UserId user_id, Order* out);

 private:
  // Hands a cancelled order's stock back now; *order then says it is back.
  void return_stock(Order* order);

  std::shared_ptr<OrderStore> store_;
  StockReturner* returner_;
  Counters* counters_;
};

}  // namespace flashsale
