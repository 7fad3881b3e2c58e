// What replaying the journal builds: the catalog, the orders, one outcome per
// request and the sales totals, all in memory. The state changes only by
// applying facts, one journal line each, so the store after a restart is
// exactly the store before it:
//
//   product <id> <stock> <sale_price> <start_ms> <end_ms> <stock_shards> <name>
//   order <id> <request_id> <user_id> <product_id> <quantity> <amount> <created_ms> <deadline_ms>
//   failed <request_id> <product_id> <reason>
//   paid <order_id> <payment_id> <paid_ms>
//   cancelled <order_id> <reason> <cancelled_ms>    (its stock return is then pending)
//   returned <order_id>                              (the stock return is complete)
//   top_up <top_up_id> <product_id> <quantity>       (an operator's top-up, pending)
//   topped_up <top_up_id>                            (the top-up is complete)
//
// Fields are separated by one space; text fields are escaped (\s for a space,
// \n, \\, and \e for an empty text) so a line never breaks. Not thread-safe:
// the store holds its lock around every use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flashsale/order_store.h"

namespace flashsale::journal {

// The facts, as the lines the journal holds.
std::string product_fact(const Product& product);
std::string order_fact(const Order& order);  // a new order, awaiting payment
std::string failed_fact(const std::string& request_id, ProductId product_id, const std::string& reason);
std::string paid_fact(OrderId id, const std::string& payment_id, UnixMillis paid_ms);
std::string cancelled_fact(OrderId id, const std::string& reason, UnixMillis cancelled_ms);
std::string returned_fact(OrderId id);
std::string top_up_fact(const StockReturn& top_up);
std::string topped_up_fact(TopUpId id);

class State {
 public:
  // Applies one fact; throws JournalError (journal_file.h) when it does not
  // parse or does not fit the state (a payment of an unknown order).
  void apply(const std::string& fact);

  const Product* product(ProductId id) const;
  const ProductSales* sales(ProductId id) const;
  const Order* order(OrderId id) const;
  const PersistResult* request(const std::string& request_id) const;
  bool has_active_order(UserId user, ProductId product) const;
  // Awaiting orders with deadline_ms <= now, soonest first, at most limit.
  std::vector<OrderId> due(UnixMillis now, std::size_t limit) const;
  // Orders with an id above `after` whose stock return is pending, in id
  // order, at most limit.
  std::vector<OrderId> pending_returns(OrderId after, std::size_t limit) const;
  // Top-ups with an id above `after` not yet complete, in id order, at most limit.
  std::vector<StockReturn> pending_top_ups(TopUpId after, std::size_t limit) const;
  bool top_up_pending(TopUpId id) const { return top_ups_.count(id) != 0; }

  ProductId next_product_id() const { return next_product_id_; }
  OrderId next_order_id() const { return next_order_id_; }
  TopUpId next_top_up_id() const { return next_top_up_id_; }

 private:
  void add_product(const Product& product);
  void add_order(const Order& order);
  void add_failure(const std::string& request_id, ProductId product_id, const std::string& reason);
  void mark_paid(OrderId id, const std::string& payment_id, UnixMillis paid_ms);
  void mark_cancelled(OrderId id, const std::string& reason, UnixMillis cancelled_ms);
  void mark_returned(OrderId id);
  void add_top_up(const StockReturn& top_up);
  void mark_topped_up(TopUpId id);
  Order& awaiting(OrderId id);  // throws unless the order is awaiting payment

  ProductId next_product_id_ = 1;
  OrderId next_order_id_ = 1;
  TopUpId next_top_up_id_ = 1;
  std::map<ProductId, Product> products_;
  std::map<ProductId, ProductSales> sales_;
  std::map<OrderId, Order> orders_;
  std::unordered_map<std::string, PersistResult> requests_;
  std::map<std::pair<UserId, ProductId>, OrderId> active_;  // awaiting or paid
  std::set<std::pair<UnixMillis, OrderId>> due_;            // awaiting, by deadline
  std::set<OrderId> returns_;                               // orders whose stock return is pending
  std::map<TopUpId, StockReturn> top_ups_;                  // pending, oldest first
};

}  // namespace flashsale::journal
