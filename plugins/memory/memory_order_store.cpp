// Stage 5 of the memory family: the system of record of the embedded profile
// (catalog, orders with their lifecycle, one outcome per request), all in this
// object under one lock, so every move of an order is one indivisible step.
// Each step is all-or-nothing: whatever may throw (a copy, a new map node) is
// done aside first, and the store is then changed only by operations that
// cannot fail. A persist batch is worked out in a staging area and moved in;
// a pay or cancel builds the order's new row and swaps it in. The awaiting
// orders are also indexed by deadline, so an expiry scan costs what is due,
// not what is stored.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "flashsale/boundary.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

using OrderKey = std::pair<UserId, ProductId>;
using DueKey = std::pair<UnixMillis, OrderId>;  // an awaiting order by (deadline, id)

// created_ms + timeout without overflowing: a huge timeout means "never".
UnixMillis deadline_after(UnixMillis created_ms, std::int64_t timeout_ms) {
  if (timeout_ms > std::numeric_limits<UnixMillis>::max() - created_ms) return std::numeric_limits<UnixMillis>::max();
  return created_ms + timeout_ms;
}

class MemoryOrderStore final : public OrderStore {
 public:
  explicit MemoryOrderStore(Clock clock) : clock_(std::move(clock)) {}

  Status persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                 std::vector<PersistResult>* results) noexcept override {
    return guarded("memory persist", [&] {
      if (payment_timeout_ms < 0) return Status(Code::invalid_argument, "payment_timeout_ms must be >= 0");
      std::lock_guard lock(mutex_);
      Batch batch{{}, {}, {}, {}, {}, next_order_id_, clock_(), payment_timeout_ms};
      std::vector<PersistResult> staged;
      staged.reserve(events.size());
      for (const OrderEvent& event : events) staged.push_back(stage(event, &batch));
      requests_.reserve(requests_.size() + batch.requests.size());  // last step that may throw
      commit(&batch);
      *results = std::move(staged);
      return Status::ok();
    });
  }

  Status find_request(const std::string& request_id, RequestState* out) noexcept override {
    return guarded("memory find_request", [&] {
      std::lock_guard lock(mutex_);
      auto found = requests_.find(request_id);
      if (found == requests_.end()) return Status(Code::not_found, "request " + request_id + " was never persisted");
      const PersistResult& result = found->second;
      *out = RequestState{request_id, result.status, result.reason, result.order_id};
      return Status::ok();
    });
  }

  Status create_product(const NewProduct& product, Product* created) noexcept override {
    return guarded("memory create_product", [&] {
      if (product.name.empty() || product.stock < 0 || product.sale_price < 0 || product.end_ms <= product.start_ms) {
        return Status(Code::invalid_argument, "product needs a name, stock >= 0, sale_price >= 0 and start < end");
      }
      std::lock_guard lock(mutex_);
      Product row;
      static_cast<NewProduct&>(row) = product;
      row.id = next_product_id_;
      sales_.emplace(row.id, ProductSales{});
      products_.emplace(row.id, row);
      ++next_product_id_;
      *created = std::move(row);
      return Status::ok();
    });
  }

  Status find_product(ProductId id, Product* out) noexcept override {
    return guarded("memory find_product", [&] {
      std::lock_guard lock(mutex_);
      auto found = products_.find(id);
      if (found == products_.end()) return Status(Code::not_found, "no product " + std::to_string(id));
      *out = found->second;
      return Status::ok();
    });
  }

  Status sales(ProductId id, ProductSales* out) noexcept override {
    return guarded("memory sales", [&] {
      std::lock_guard lock(mutex_);
      auto found = sales_.find(id);
      if (found == sales_.end()) return Status(Code::not_found, "no product " + std::to_string(id));
      *out = found->second;
      return Status::ok();
    });
  }

  Status find_order(OrderId id, Order* out) noexcept override {
    return guarded("memory find_order", [&] {
      std::lock_guard lock(mutex_);
      auto found = orders_.find(id);
      if (found == orders_.end()) return no_order(id);
      *out = found->second;
      return Status::ok();
    });
  }

  Status pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) noexcept override {
    return guarded("memory pay", [&] {
      if (payment_id.empty()) return Status(Code::invalid_argument, "pay needs a payment_id");
      std::lock_guard lock(mutex_);
      auto found = orders_.find(id);
      if (found == orders_.end()) return no_order(id);
      Order& order = found->second;
      if (amount != order.amount) {
        *out = order;
        return Status(Code::amount_mismatch, "order " + std::to_string(id) + " is for " + std::to_string(order.amount) +
                                                 ", not " + std::to_string(amount));
      }
      UnixMillis now = clock_();
      if (order.status == OrderStatus::awaiting_payment && now >= order.deadline_ms) {
        cancel_row(&order, kPaymentTimeout, now, [&](const Order& cancelled) { *out = cancelled; });
        return Status(Code::order_cancelled, "order " + std::to_string(id) + " passed its payment deadline");
      }
      if (order.status == OrderStatus::awaiting_payment) {
        Order paid = order;
        paid.status = OrderStatus::paid;
        paid.payment_id = payment_id;
        paid.paid_ms = now;
        *out = paid;
        // Nothing below throws.
        due_.erase(DueKey{order.deadline_ms, id});
        sales_.find(order.product_id)->second.count_order_paid(order.quantity);
        order = std::move(paid);
        return Status::ok();
      }
      *out = order;
      if (order.status == OrderStatus::paid) {
        if (order.payment_id == payment_id) return Status::ok();  // a replay
        return Status(Code::already_paid, "order " + std::to_string(id) + " was paid by another payment");
      }
      return Status(Code::order_cancelled,
                    "order " + std::to_string(id) + " is cancelled (" + order.cancel_reason + ")");
    });
  }

  Status cancel(OrderId id, UserId user_id, Order* out) noexcept override {
    return guarded("memory cancel", [&] {
      std::lock_guard lock(mutex_);
      auto found = orders_.find(id);
      // Another buyer's order answers exactly as a missing one.
      if (found == orders_.end() || found->second.user_id != user_id) return no_order(id);
      Order& row = found->second;
      switch (row.status) {
        case OrderStatus::awaiting_payment:
          cancel_row(&row, kUserCancelled, clock_(), [&](const Order& cancelled) { *out = cancelled; });
          return Status::ok();
        case OrderStatus::cancelled:
          *out = row;
          return Status::ok();
        case OrderStatus::paid:
          break;
      }
      *out = row;
      return Status(Code::already_paid, "order " + std::to_string(id) + " is paid");
    });
  }

  Status expire_due(UnixMillis now, std::size_t limit, std::vector<Order>* cancelled) noexcept override {
    return guarded("memory expire_due", [&] {
      std::lock_guard lock(mutex_);
      for (std::size_t done = 0; done < limit && !due_.empty() && due_.begin()->first <= now; ++done) {
        Order& row = orders_.find(due_.begin()->second)->second;
        cancel_row(&row, kPaymentTimeout, now, [&](const Order& order) { cancelled->push_back(order); });
      }
      return Status::ok();
    });
  }

  Status pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                               std::vector<StockReturn>* out) noexcept override {
    return guarded("memory pending_stock_returns", [&] {
      std::lock_guard lock(mutex_);
      std::vector<StockReturn> pending;
      pending.reserve(std::min(limit, returns_.size() + top_ups_.size()));
      for (auto it = returns_.upper_bound(after.after_order); it != returns_.end() && pending.size() < limit; ++it) {
        const Order& order = orders_.find(*it)->second;
        pending.push_back(StockReturn{order.id, order.request_id, order.user_id, order.product_id, order.quantity, 0});
      }
      for (auto it = top_ups_.upper_bound(after.after_top_up); it != top_ups_.end() && pending.size() < limit; ++it) {
        pending.push_back(it->second);
      }
      *out = std::move(pending);
      return Status::ok();
    });
  }

  Status complete_stock_returns(const std::vector<OrderId>& order_ids) noexcept override {
    return guarded("memory complete_stock_returns", [&] {
      std::lock_guard lock(mutex_);
      for (OrderId id : order_ids) {
        auto found = orders_.find(id);
        if (found == orders_.end() || !found->second.stock_return_pending) continue;
        Order& row = found->second;
        returns_.erase(row.id);
        row.stock_return_pending = false;
        sales_.find(row.product_id)->second.count_return_completed(row.quantity);
      }
      return Status::ok();
    });
  }

  Status record_top_up(ProductId product_id, std::int32_t quantity, StockReturn* top_up) noexcept override {
    return guarded("memory record_top_up", [&] {
      if (quantity <= 0) return Status(Code::invalid_argument, "a top-up needs a positive quantity");
      std::lock_guard lock(mutex_);
      auto totals = sales_.find(product_id);
      if (totals == sales_.end()) return Status(Code::not_found, "no product " + std::to_string(product_id));
      StockReturn recorded{0, {}, 0, product_id, quantity, next_top_up_id_};
      *top_up = recorded;
      top_ups_.emplace(recorded.top_up_id, recorded);
      // Nothing below throws.
      ++next_top_up_id_;
      totals->second.count_top_up_recorded(quantity);
      return Status::ok();
    });
  }

  Status complete_top_ups(const std::vector<TopUpId>& top_up_ids) noexcept override {
    return guarded("memory complete_top_ups", [&] {
      std::lock_guard lock(mutex_);
      for (TopUpId id : top_up_ids) {
        auto found = top_ups_.find(id);
        if (found == top_ups_.end()) continue;
        sales_.find(found->second.product_id)->second.count_top_up_completed(found->second.quantity);
        top_ups_.erase(found);
      }
      return Status::ok();
    });
  }

 private:
  // What a batch adds, before it is moved into the store.
  struct Batch {
    std::unordered_map<std::string, PersistResult> requests;
    std::map<OrderId, Order> orders;
    std::map<OrderKey, OrderId> active;
    std::set<DueKey> due;
    std::map<ProductId, ProductSales> sales;  // new totals of the products touched
    OrderId next_order_id;
    UnixMillis created_ms;
    std::int64_t payment_timeout_ms;
  };

  static Status no_order(OrderId id) { return Status(Code::not_found, "no order " + std::to_string(id)); }

  PersistResult stage(const OrderEvent& event, Batch* batch) {
    if (auto done = requests_.find(event.request_id); done != requests_.end()) return done->second;
    if (auto done = batch->requests.find(event.request_id); done != batch->requests.end()) return done->second;

    auto totals = sales_.find(event.product_id);
    PersistResult result;
    if (totals == sales_.end()) {
      result.reason = "unknown_product";
    } else {
      OrderKey key{event.user_id, event.product_id};
      ProductSales& sales = batch->sales.try_emplace(event.product_id, totals->second).first->second;
      if (active_.count(key) != 0 || batch->active.count(key) != 0) {
        result.reason = "already_purchased";
        sales.count_request_failed();
      } else {
        result.status = RequestStatus::success;
        result.order_id = batch->next_order_id++;
        Order order;
        order.id = result.order_id;
        order.request_id = event.request_id;
        order.user_id = event.user_id;
        order.product_id = event.product_id;
        order.quantity = event.quantity;
        order.amount = event.quantity * event.unit_price;
        order.created_ms = batch->created_ms;
        order.deadline_ms = deadline_after(batch->created_ms, batch->payment_timeout_ms);
        batch->due.emplace(order.deadline_ms, order.id);
        batch->active.emplace(key, order.id);
        batch->orders.emplace(order.id, std::move(order));
        sales.count_order_created(event.quantity);
      }
    }
    batch->requests.emplace(event.request_id, result);
    return result;
  }

  // Nothing here allocates: nodes move between maps (requests_ has room
  // reserved, the batch's keys are new to the store) and the sales totals of
  // known products are assigned in place.
  void commit(Batch* batch) noexcept {
    requests_.merge(batch->requests);
    orders_.merge(batch->orders);
    active_.merge(batch->active);
    due_.merge(batch->due);
    for (const auto& [id, totals] : batch->sales) sales_.find(id)->second = totals;
    next_order_id_ = batch->next_order_id;
  }

  // Cancels an awaiting order and records its stock return. report(the
  // cancelled order) may throw, and is called before the store changes: on an
  // exception nothing happened.
  template <typename Report>
  void cancel_row(Order* row, const char* reason, UnixMillis now, Report&& report) {
    Order cancelled = *row;
    cancelled.status = OrderStatus::cancelled;
    cancelled.cancel_reason = reason;
    cancelled.cancelled_ms = now;
    cancelled.stock_return_pending = true;
    auto queued = returns_.insert(cancelled.id).first;
    try {
      report(cancelled);
    } catch (...) {
      returns_.erase(queued);
      throw;
    }
    // Nothing below throws.
    due_.erase(DueKey{cancelled.deadline_ms, cancelled.id});
    active_.erase(OrderKey{cancelled.user_id, cancelled.product_id});
    sales_.find(cancelled.product_id)->second.count_order_cancelled(cancelled.quantity);
    *row = std::move(cancelled);
  }

  const Clock clock_;
  std::mutex mutex_;
  ProductId next_product_id_ = 1;
  OrderId next_order_id_ = 1;
  TopUpId next_top_up_id_ = 1;
  std::map<ProductId, Product> products_;
  std::map<ProductId, ProductSales> sales_;
  std::map<OrderId, Order> orders_;
  std::map<OrderKey, OrderId> active_;                       // the one awaiting or paid order of a user for a product
  std::set<DueKey> due_;                                     // the awaiting orders, soonest deadline first
  std::set<OrderId> returns_;                                // orders whose stock return is pending
  std::map<TopUpId, StockReturn> top_ups_;                   // pending top-ups
  std::unordered_map<std::string, PersistResult> requests_;  // one outcome per request_id
};

}  // namespace

OrderStore* new_order_store(Clock clock) {
  return new MemoryOrderStore(std::move(clock));
}

}  // namespace flashsale::memory
