// The stock returner and the expiry worker over fake stages: a return is
// completed in the persist stage only once the admit stage took it, a
// failure leaves it pending for the next round, and the worker works off a
// backlog larger than its batch without waiting a scan interval between.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pipeline/stock_returner.h"
#include "support/stage_fakes.h"
#include "workers/expiry_worker.h"

namespace flashsale {

namespace {

// Awaiting orders 1..n, all due; cancelling records a pending return.
class DueStore final : public test::OrderStoreFake {
 public:
  explicit DueStore(int orders) {
    for (OrderId id = 1; id <= orders; ++id) awaiting_.push_back(id);
  }
  Status expire_due(UnixMillis, std::size_t limit, std::vector<Order>* cancelled) noexcept override {
    std::lock_guard lock(mutex_);
    ++expire_calls_;
    while (limit-- > 0 && !awaiting_.empty()) {
      Order order;
      order.id = awaiting_.front();
      order.status = OrderStatus::cancelled;
      order.cancel_reason = kPaymentTimeout;
      order.stock_return_pending = true;
      awaiting_.erase(awaiting_.begin());
      pending_.push_back(order.id);
      cancelled->push_back(order);
    }
    return Status::ok();
  }
  Status pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                               std::vector<StockReturn>* out) noexcept override {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < pending_.size() && out->size() < limit; ++i) {
      if (pending_[i] > after.after_order)
        out->push_back(StockReturn{pending_[i], "r" + std::to_string(pending_[i]), 7, 1, 1});
    }
    return Status::ok();
  }
  Status complete_stock_returns(const std::vector<OrderId>& ids) noexcept override {
    std::lock_guard lock(mutex_);
    for (OrderId id : ids) {
      auto found = std::find(pending_.begin(), pending_.end(), id);
      if (found != pending_.end()) pending_.erase(found);
      completed_.push_back(id);
    }
    return Status::ok();
  }
  std::size_t pending() {
    std::lock_guard lock(mutex_);
    return pending_.size() + awaiting_.size();
  }
  std::vector<OrderId> completed() {
    std::lock_guard lock(mutex_);
    return completed_;
  }

 private:
  std::mutex mutex_;
  std::vector<OrderId> awaiting_, pending_, completed_;
  int expire_calls_ = 0;
};

// Takes every return except those of `refuse` (down) and of `unstocked`
// (no stock loaded), and counts what it took.
class ReturnAdmission final : public test::AdmissionFake {
 public:
  Status return_stock(const StockReturn& r) noexcept override {
    std::lock_guard lock(mutex_);
    if (r.order_id == refuse) return Status(Code::unavailable, "down");
    if (unstocked.count(r.order_id) != 0) return Status(Code::not_preloaded, "no stock");
    ++taken[r.order_id];
    return Status::ok();
  }
  std::mutex mutex_;
  OrderId refuse = 0;
  std::set<OrderId> unstocked;
  std::map<OrderId, int> taken;
};

// `orders` orders, all cancelled with their returns pending, and a returner.
struct Cancelled {
  explicit Cancelled(int orders) : store(std::make_shared<DueStore>(orders)) {
    std::vector<Order> cancelled;
    REQUIRE(store->expire_due(0, static_cast<std::size_t>(orders), &cancelled).is_ok());
  }
  std::shared_ptr<DueStore> store;
  std::shared_ptr<ReturnAdmission> admission = std::make_shared<ReturnAdmission>();
  Counters counters;
  StockReturner returner{store, admission, &counters};
};

}  // namespace

TEST_CASE("a return is completed only after the admit stage took it", "[lifecycle]") {
  Cancelled f(3);
  auto& [store, admission, counters, returner] = f;

  admission->refuse = 2;
  std::size_t completed = 0;
  Status status = returner.return_pending(10, &completed);
  CHECK(status.code() == Code::unavailable);
  CHECK(completed == 1);  // order 1; order 2 failed, so 3 waits its turn
  CHECK(store->completed() == std::vector<OrderId>{1});
  CHECK(store->pending() == 2);

  admission->refuse = 0;
  REQUIRE(returner.return_pending(10, &completed).is_ok());
  CHECK(completed == 2);
  CHECK(store->pending() == 0);
  CHECK(admission->taken == std::map<OrderId, int>{{1, 1}, {2, 1}, {3, 1}});
  CHECK(counters.stock_returned.load() == 3);

  // An order that is not pending (or not cancelled) is not returned again.
  Order done;
  done.id = 1;
  done.status = OrderStatus::cancelled;
  REQUIRE(returner.return_order(done).is_ok());
  CHECK(admission->taken[1] == 1);
}

TEST_CASE("returns the admit stage has no stock for stay pending and do not hold up the ones behind them",
          "[lifecycle]") {
  Cancelled f(10);
  auto& [store, admission, counters, returner] = f;
  admission->unstocked = {1, 2, 3, 4};  // the oldest: a whole batch of 4 and more

  std::size_t completed = 0;
  REQUIRE(returner.return_pending(4, &completed).is_ok());  // 1-4: none taken, none completed
  CHECK(completed == 0);
  REQUIRE(returner.return_pending(4, &completed).is_ok());  // past them: 5-8
  CHECK(completed == 4);
  REQUIRE(returner.return_pending(4, &completed).is_ok());  // 9, 10, then from the start again
  CHECK(completed == 2);
  CHECK(store->completed() == std::vector<OrderId>{5, 6, 7, 8, 9, 10});
  CHECK(store->pending() == 4);
  CHECK(counters.stock_returned.load() == 6);

  // Once the stage has stock, the next round takes them.
  admission->unstocked.clear();
  REQUIRE(returner.return_pending(4, &completed).is_ok());
  CHECK(completed == 4);
  CHECK(store->pending() == 0);
  for (OrderId id = 1; id <= 10; ++id) CHECK(admission->taken[id] == 1);

  // A single order's return to a product without stock is not_preloaded and stays pending.
  Order order;
  order.id = 42;
  order.status = OrderStatus::cancelled;
  order.stock_return_pending = true;
  admission->unstocked = {42};
  CHECK(returner.return_order(order).code() == Code::not_preloaded);
  CHECK(admission->taken.count(42) == 0);
}

TEST_CASE("the expiry worker works off a backlog beyond its batch and stops at once when drained", "[lifecycle]") {
  auto store = std::make_shared<DueStore>(1000);
  auto admission = std::make_shared<ReturnAdmission>();
  Counters counters;
  StockReturner returner(store, admission, &counters);
  // An hour between scans: only full batches going on at once can finish
  // the backlog, and only a drain that cuts the pause short can stop it.
  ExpiryWorker worker(store, &returner, 64, std::chrono::hours(1), &counters);
  worker.start();
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store->pending() != 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  worker.drain_and_stop(std::chrono::seconds(1));
  CHECK(store->pending() == 0);
  CHECK(counters.orders_expired.load() == 1000);
  CHECK(counters.stock_returned.load() == 1000);
  CHECK(admission->taken.size() == 1000);
}

}  // namespace flashsale
