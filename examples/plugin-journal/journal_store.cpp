// The persist contract (flashsale/order_store.h) on a journal. Every method
// takes the one lock, decides from the in-memory state, and writes what
// changes as one journal transaction before it changes memory; memory then
// applies the very lines it wrote, as a replay would. So a call that failed
// to write changed nothing, and an answer once given is on disk.
//
// Choices the contract leaves open: a batch with an invalid event (empty
// request id, quantity < 1, negative price) or a negative payment timeout is
// refused whole (invalid_argument, nothing written); an event for a product
// never created fails "unknown_product"; sales() of such a product is
// not_found. A journal that cannot be written answers unavailable.
#include "journal_store.h"

#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "flashsale/boundary.h"
#include "flashsale/clock.h"
#include "journal_file.h"
#include "journal_state.h"

namespace flashsale::journal {

namespace {

Status no_order(OrderId id) {
  return Status(Code::not_found, "no order " + std::to_string(id));
}

// created_ms + timeout, held at the largest time instead of overflowing.
UnixMillis deadline_after(UnixMillis created_ms, std::int64_t timeout_ms) {
  if (timeout_ms > std::numeric_limits<UnixMillis>::max() - created_ms) return std::numeric_limits<UnixMillis>::max();
  return created_ms + timeout_ms;
}

class JournalStore final : public OrderStore {
 public:
  JournalStore(const std::string& path, bool sync)
      : file_(path, sync, [this](const std::string& fact, std::size_t) { state_.apply(fact); }) {}

  Status persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                 std::vector<PersistResult>* results) noexcept override {
    return locked("journal persist", [&] {
      if (payment_timeout_ms < 0) return Status(Code::invalid_argument, "payment_timeout_ms must be >= 0");
      for (const OrderEvent& event : events) {
        if (event.request_id.empty() || event.quantity < 1 || event.unit_price < 0) {
          return Status(Code::invalid_argument,
                        "event '" + event.request_id + "' needs a request id, quantity >= 1 and unit_price >= 0");
        }
      }
      // Decide every event against the state plus what this batch adds.
      UnixMillis now = now_ms();
      OrderId next_id = state_.next_order_id();
      std::map<std::string, PersistResult> decided;
      std::set<std::pair<UserId, ProductId>> ordering;
      std::vector<std::string> facts;
      std::vector<PersistResult> outcomes;
      for (const OrderEvent& event : events) {
        if (const PersistResult* earlier = state_.request(event.request_id)) {
          outcomes.push_back(*earlier);
          continue;
        }
        if (auto earlier = decided.find(event.request_id); earlier != decided.end()) {
          outcomes.push_back(earlier->second);
          continue;
        }
        std::pair<UserId, ProductId> key{event.user_id, event.product_id};
        PersistResult result;
        if (state_.product(event.product_id) == nullptr) {
          result.reason = "unknown_product";
        } else if (state_.has_active_order(event.user_id, event.product_id) || ordering.count(key) != 0) {
          result.reason = "already_purchased";
        } else {
          result = PersistResult{RequestStatus::success, {}, next_id++};
          ordering.insert(key);
        }
        if (result.status == RequestStatus::success) {
          Order order;
          order.id = result.order_id;
          order.request_id = event.request_id;
          order.user_id = event.user_id;
          order.product_id = event.product_id;
          order.quantity = event.quantity;
          order.amount = event.quantity * event.unit_price;
          order.created_ms = now;
          order.deadline_ms = deadline_after(now, payment_timeout_ms);
          facts.push_back(order_fact(order));
        } else {
          facts.push_back(failed_fact(event.request_id, event.product_id, result.reason));
        }
        decided.emplace(event.request_id, result);
        outcomes.push_back(result);
      }
      commit(facts);
      *results = std::move(outcomes);
      return Status::ok();
    });
  }

  Status find_request(const std::string& request_id, RequestState* out) noexcept override {
    return locked("journal find_request", [&] {
      const PersistResult* result = state_.request(request_id);
      if (result == nullptr) return Status(Code::not_found, "request " + request_id + " was never persisted");
      *out = RequestState{request_id, result->status, result->reason, result->order_id};
      return Status::ok();
    });
  }

  Status create_product(const NewProduct& product, Product* created) noexcept override {
    return locked("journal create_product", [&] {
      if (product.name.empty() || product.stock < 0 || product.sale_price < 0 || product.end_ms <= product.start_ms) {
        return Status(Code::invalid_argument, "product needs a name, stock >= 0, sale_price >= 0 and start < end");
      }
      Product row;
      static_cast<NewProduct&>(row) = product;
      row.id = state_.next_product_id();
      commit({product_fact(row)});
      *created = row;
      return Status::ok();
    });
  }

  Status find_product(ProductId id, Product* out) noexcept override {
    return locked("journal find_product", [&] {
      const Product* product = state_.product(id);
      if (product == nullptr) return Status(Code::not_found, "no product " + std::to_string(id));
      *out = *product;
      return Status::ok();
    });
  }

  Status sales(ProductId id, ProductSales* out) noexcept override {
    return locked("journal sales", [&] {
      const ProductSales* sales = state_.sales(id);
      if (sales == nullptr) return Status(Code::not_found, "no product " + std::to_string(id));
      *out = *sales;
      return Status::ok();
    });
  }

  Status find_order(OrderId id, Order* out) noexcept override {
    return locked("journal find_order", [&] {
      const Order* order = state_.order(id);
      if (order == nullptr) return no_order(id);
      *out = *order;
      return Status::ok();
    });
  }

  Status pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) noexcept override {
    return locked("journal pay", [&] {
      if (payment_id.empty()) return Status(Code::invalid_argument, "pay needs a payment_id");
      const Order* order = state_.order(id);
      if (order == nullptr) return no_order(id);
      std::string name = "order " + std::to_string(id);
      if (amount != order->amount) {
        *out = *order;
        return Status(Code::amount_mismatch,
                      name + " is for " + std::to_string(order->amount) + ", not " + std::to_string(amount));
      }
      if (order->status == OrderStatus::awaiting_payment) {
        UnixMillis now = now_ms();
        bool late = now >= order->deadline_ms;  // the expiry wins
        commit({late ? cancelled_fact(id, kPaymentTimeout, now) : paid_fact(id, payment_id, now)});
        *out = *state_.order(id);
        return late ? Status(Code::order_cancelled, name + " passed its payment deadline") : Status::ok();
      }
      *out = *order;
      if (order->status == OrderStatus::cancelled) {
        return Status(Code::order_cancelled, name + " is cancelled (" + order->cancel_reason + ")");
      }
      if (order->payment_id == payment_id) return Status::ok();  // a replay
      return Status(Code::already_paid, name + " was paid by another payment");
    });
  }

  Status cancel(OrderId id, UserId user_id, Order* out) noexcept override {
    return locked("journal cancel", [&] {
      const Order* order = state_.order(id);
      if (order == nullptr || order->user_id != user_id) return no_order(id);  // another buyer learns nothing
      if (order->status == OrderStatus::awaiting_payment) commit({cancelled_fact(id, kUserCancelled, now_ms())});
      *out = *state_.order(id);
      if (out->status == OrderStatus::paid) {
        return Status(Code::already_paid, "order " + std::to_string(id) + " is paid");
      }
      return Status::ok();
    });
  }

  Status expire_due(UnixMillis now, std::size_t limit, std::vector<Order>* cancelled) noexcept override {
    return locked("journal expire_due", [&] {
      std::vector<OrderId> due = state_.due(now, limit);
      std::vector<std::string> facts;
      for (OrderId id : due) facts.push_back(cancelled_fact(id, kPaymentTimeout, now));
      commit(facts);
      for (OrderId id : due) cancelled->push_back(*state_.order(id));
      return Status::ok();
    });
  }

  Status pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                               std::vector<StockReturn>* out) noexcept override {
    return locked("journal pending_stock_returns", [&] {
      std::vector<StockReturn> pending;
      for (OrderId id : state_.pending_returns(after.after_order, limit)) {
        const Order& order = *state_.order(id);
        pending.push_back(StockReturn{order.id, order.request_id, order.user_id, order.product_id, order.quantity, 0});
      }
      for (StockReturn& top_up : state_.pending_top_ups(after.after_top_up, limit - pending.size())) {
        pending.push_back(std::move(top_up));
      }
      *out = std::move(pending);
      return Status::ok();
    });
  }

  Status complete_stock_returns(const std::vector<OrderId>& order_ids) noexcept override {
    return locked("journal complete_stock_returns", [&] {
      std::set<OrderId> done;  // an id given twice is completed once
      std::vector<std::string> facts;
      for (OrderId id : order_ids) {
        const Order* order = state_.order(id);
        if (order != nullptr && order->stock_return_pending && done.insert(id).second) {
          facts.push_back(returned_fact(id));
        }
      }
      commit(facts);
      return Status::ok();
    });
  }

  Status record_top_up(ProductId product_id, std::int32_t quantity, StockReturn* top_up) noexcept override {
    return locked("journal record_top_up", [&] {
      if (quantity <= 0) return Status(Code::invalid_argument, "a top-up needs a positive quantity");
      if (state_.product(product_id) == nullptr) {
        return Status(Code::not_found, "no product " + std::to_string(product_id));
      }
      StockReturn recorded{0, {}, 0, product_id, quantity, state_.next_top_up_id()};
      commit({top_up_fact(recorded)});
      *top_up = recorded;
      return Status::ok();
    });
  }

  Status complete_top_ups(const std::vector<TopUpId>& top_up_ids) noexcept override {
    return locked("journal complete_top_ups", [&] {
      std::set<TopUpId> done;  // an id given twice is completed once
      std::vector<std::string> facts;
      for (TopUpId id : top_up_ids) {
        if (state_.top_up_pending(id) && done.insert(id).second) facts.push_back(topped_up_fact(id));
      }
      commit(facts);
      return Status::ok();
    });
  }

 private:
  // Runs body under the lock, with the boundary's exception policy: a journal
  // that cannot be written is unavailable, anything else thrown is internal.
  template <typename Body>
  Status locked(const char* what, Body&& body) noexcept {
    return guarded(what, [&] {
      std::lock_guard lock(mutex_);
      if (broken_) {
        return Status(Code::internal, std::string(what) + ": memory fell behind the journal; restart to replay it");
      }
      try {
        return body();
      } catch (const JournalError& error) {
        return Status(Code::unavailable, std::string(what) + ": " + error.what());
      }
    });
  }

  // Writes facts as one transaction, then applies them. Only running out of
  // memory can stop the apply half way; then the journal is ahead of memory
  // and the store refuses every call until a restart replays it.
  void commit(const std::vector<std::string>& facts) {
    if (facts.empty()) return;
    file_.append(facts);
    try {
      for (const std::string& fact : facts) state_.apply(fact);
    } catch (...) {
      broken_ = true;
      throw;
    }
  }

  std::mutex mutex_;
  bool broken_ = false;
  State state_;  // before file_: the file replays into it
  JournalFile file_;
};

}  // namespace

OrderStore* open_journal_store(const std::string& path, bool sync) {
  return new JournalStore(path, sync);
}

}  // namespace flashsale::journal
