// Conformance of the persist stage where its contract (order_store.h) is
// easiest to get wrong and hardest to see: many threads at once, a batch that
// fails, products the store never created, and a restart on the same state.
//
// What a batch with an invalid event (quantity 0 or less, a negative payment
// timeout) must do is not pinned by the contract: a backend may refuse the
// whole batch (a non-ok Status, nothing written: the memory family refuses a
// negative timeout) or take it whole (sqlite takes both). What is checked is
// the all-or-nothing rule itself, the one thing the contract does say.
//
// A product never created: sales() answers not_found, and an event for it
// fails "unknown_product", changing nothing else; a redelivery gets the same
// result (order_store.h).
#include <atomic>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "conformance.h"
#include "flashsale/clock.h"

namespace flashsale::conformance {

namespace {

constexpr std::int64_t kTimeoutMs = 3600 * 1000;

Product create_product(OrderStore& store) {
  UnixMillis now = now_ms();
  NewProduct product{"contract " + random_request_id(), 100000, 12345, now - 3600 * 1000, now + 3600 * 1000};
  Product created;
  REQUIRE_OK(store.create_product(product, &created));
  return created;
}

std::vector<PersistResult> persist(OrderStore& store, const std::vector<OrderEvent>& events) {
  std::vector<PersistResult> results;
  REQUIRE_OK(store.persist(events, kTimeoutMs, &results));
  REQUIRE(results.size() == events.size());
  return results;
}

std::string text(const PersistResult& result) {
  std::ostringstream out;
  out << status_name(result.status) << " " << result.reason << " " << result.order_id;
  return out.str();
}

std::string text(const RequestState& state) {
  return text(PersistResult{state.status, state.reason, state.order_id});
}

void require_same_sales(const ProductSales& actual, const ProductSales& expected) {
  CHECK(actual.orders == expected.orders);
  CHECK(actual.failed_requests == expected.failed_requests);
  CHECK(actual.orders_awaiting_payment == expected.orders_awaiting_payment);
  CHECK(actual.orders_paid == expected.orders_paid);
  CHECK(actual.orders_cancelled == expected.orders_cancelled);
  CHECK(actual.quantity_awaiting_payment == expected.quantity_awaiting_payment);
  CHECK(actual.quantity_paid == expected.quantity_paid);
  CHECK(actual.quantity_cancelled == expected.quantity_cancelled);
  CHECK(actual.quantity_returns_pending == expected.quantity_returns_pending);
}

void require_same_order(const Order& actual, const Order& expected) {
  CHECK(actual.id == expected.id);
  CHECK(actual.request_id == expected.request_id);
  CHECK(actual.user_id == expected.user_id);
  CHECK(actual.product_id == expected.product_id);
  CHECK(actual.quantity == expected.quantity);
  CHECK(actual.amount == expected.amount);
  CHECK(order_status_name(actual.status) == std::string(order_status_name(expected.status)));
  CHECK(actual.cancel_reason == expected.cancel_reason);
  CHECK(actual.payment_id == expected.payment_id);
  CHECK(actual.created_ms == expected.created_ms);
  CHECK(actual.deadline_ms == expected.deadline_ms);
  CHECK(actual.paid_ms == expected.paid_ms);
  CHECK(actual.cancelled_ms == expected.cancelled_ms);
  CHECK(actual.stock_return_pending == expected.stock_return_pending);
}

// What the threads of the first case saw; checked on the main thread.
struct Observed {
  std::mutex mutex;
  std::map<std::string, std::vector<PersistResult>> results;  // by request id, one per persist of it
  std::vector<std::string> problems;

  void problem(const std::string& what) {
    std::lock_guard lock(mutex);
    problems.push_back(what);
  }
};

}  // namespace

TEST_CASE("persist contract: many threads persisting and reading at once lose and double nothing",
          "[persist][concurrency]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  constexpr int kWriters = 6, kBatches = 20, kOwn = 6, kShared = 2;
  UserId users = random_id();
  // Every writer persists its own events (one order each), the same shared
  // events as every other writer (one order each, the same result for all),
  // and one event of its own for a user all writers compete for (one order
  // per contested user, the others already_purchased).
  std::vector<std::vector<std::vector<OrderEvent>>> batches(kWriters);
  std::vector<OrderEvent> shared;
  for (int b = 0; b < kBatches; ++b) {
    for (int s = 0; s < kShared; ++s) shared.push_back(make_event(product.id, users + 100000 + b * kShared + s, 1));
  }
  for (int w = 0; w < kWriters; ++w) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<OrderEvent> batch;
      for (int i = 0; i < kOwn; ++i) batch.push_back(make_event(product.id, users + (w * kBatches + b) * kOwn + i, 2));
      for (int s = 0; s < kShared; ++s) batch.push_back(shared[b * kShared + s]);
      batch.push_back(make_event(product.id, users + 200000 + b, 1));  // contested
      std::swap(batch[0], batch[(w + b) % batch.size()]);              // not always in the same place
      batches[w].push_back(std::move(batch));
    }
  }

  Observed seen;
  std::vector<std::pair<std::string, PersistResult>> published;  // for the readers, under seen.mutex
  std::atomic<int> writing{kWriters};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      while (!go) std::this_thread::yield();
      for (const std::vector<OrderEvent>& batch : batches[w]) {
        std::vector<PersistResult> results;
        Status status = store.persist(batch, kTimeoutMs, &results);
        if (!status.is_ok() || results.size() != batch.size()) {
          seen.problem("persist: " + describe(status));
          continue;
        }
        std::lock_guard lock(seen.mutex);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          seen.results[batch[i].request_id].push_back(results[i]);
          published.emplace_back(batch[i].request_id, results[i]);
        }
      }
      --writing;
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      ProductSales last;
      std::size_t next = 0;
      do {
        ProductSales now;
        Status status = store.sales(product.id, &now);
        if (!status.is_ok()) seen.problem("sales: " + describe(status));
        if (now.orders < last.orders || now.failed_requests < last.failed_requests) {
          seen.problem("sales went back: orders " + std::to_string(last.orders) + " -> " + std::to_string(now.orders));
        }
        if (now.orders != now.orders_awaiting_payment) seen.problem("sales: orders != orders_awaiting_payment");
        last = now;
        // A result once returned is final: find_request and find_order agree.
        std::optional<std::pair<std::string, PersistResult>> pick;
        {
          std::lock_guard lock(seen.mutex);
          if (next < published.size()) pick = published[next++];
        }
        if (!pick) continue;
        RequestState state;
        status = store.find_request(pick->first, &state);
        if (!status.is_ok() || text(state) != text(pick->second)) {
          seen.problem("find_request " + pick->first + ": " + describe(status) + " " + text(state) + " vs " +
                       text(pick->second));
        }
        Order order;
        if (pick->second.status == RequestStatus::success &&
            (!store.find_order(pick->second.order_id, &order).is_ok() || order.request_id != pick->first)) {
          seen.problem("find_order " + std::to_string(pick->second.order_id) + " is not " + pick->first);
        }
      } while (writing > 0);
    });
  }
  go = true;
  for (std::thread& thread : threads) thread.join();

  INFO("first problems: " << (seen.problems.empty() ? "" : seen.problems.front()));
  CHECK(seen.problems.empty());
  std::set<OrderId> order_ids;
  std::map<UserId, int> orders_of_user;
  std::int64_t quantity = 0, failed = 0;
  for (const auto& [request_id, results] : seen.results) {
    INFO("request " << request_id << " first " << text(results.front()));
    for (const PersistResult& result : results) CHECK(text(result) == text(results.front()));
    RequestState state;
    REQUIRE_OK(store.find_request(request_id, &state));
    CHECK(text(state) == text(results.front()));
    if (results.front().status != RequestStatus::success) {
      CHECK(results.front().reason == "already_purchased");
      ++failed;
      continue;
    }
    CHECK(order_ids.insert(results.front().order_id).second);  // no order id handed out twice
    Order order;
    REQUIRE_OK(store.find_order(results.front().order_id, &order));
    CHECK(order.request_id == request_id);
    ++orders_of_user[order.user_id];
    quantity += order.quantity;
  }
  std::size_t events = 0;
  for (const auto& writer : batches) {
    for (const auto& batch : writer) events += batch.size();
  }
  CHECK(seen.results.size() == static_cast<std::size_t>(kWriters * kBatches * (kOwn + 1) + kBatches * kShared));
  for (const auto& [user, count] : orders_of_user) CHECK(count == 1);
  // Every own and shared event is an order, one per contested user.
  CHECK(order_ids.size() == static_cast<std::size_t>(kWriters * kBatches * kOwn + kBatches * kShared + kBatches));
  CHECK(failed == (kWriters - 1) * kBatches);
  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders == static_cast<std::int64_t>(order_ids.size()));
  CHECK(sales.orders_awaiting_payment == sales.orders);
  CHECK(sales.quantity_awaiting_payment == quantity);
  CHECK(sales.failed_requests == failed);
  CHECK(events == static_cast<std::size_t>(kWriters * kBatches * (kOwn + kShared + 1)));
}

TEST_CASE("persist contract: a batch with an invalid event is written whole or not at all", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  UserId users = random_id();
  std::vector<OrderEvent> batch = {make_event(product.id, users + 0, 1), make_event(product.id, users + 1, 1),
                                   make_event(product.id, users + 2, 1)};
  std::int64_t timeout = kTimeoutMs;
  SECTION("quantity 0") {
    batch[1].quantity = 0;
  }
  SECTION("a negative quantity") {
    batch[1].quantity = -1;
  }
  SECTION("a negative payment timeout") {
    timeout = -1;
  }
  ProductSales before = sales_of(store, product.id);

  std::vector<PersistResult> results;
  Status status = store.persist(batch, timeout, &results);
  INFO("persist -> " << describe(status));
  if (status.is_ok()) {
    REQUIRE(results.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      RequestState state;
      REQUIRE_OK(store.find_request(batch[i].request_id, &state));
      CHECK(text(state) == text(results[i]));
    }
    return;
  }
  for (const OrderEvent& event : batch) {
    RequestState state;
    REQUIRE_CODE(store.find_request(event.request_id, &state), Code::not_found);
  }
  require_same_sales(sales_of(store, product.id), before);
  // Nothing of the refused batch stands in the way of its valid events.
  std::vector<PersistResult> again = persist(store, {batch[0], batch[2]});
  CHECK(again[0].status == RequestStatus::success);
  CHECK(again[1].status == RequestStatus::success);
}

TEST_CASE("persist contract: an empty batch is ok and writes nothing", "[persist]") {
  Backends backends;
  std::vector<PersistResult> results(3);
  REQUIRE_OK(backends.store().persist({}, kTimeoutMs, &results));
  CHECK(results.empty());
}

TEST_CASE("persist contract: sales of a product never created is not_found", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  ProductId unknown = (std::int64_t{1} << 61) + random_id();
  ProductSales sales;
  REQUIRE_CODE(store.sales(unknown, &sales), Code::not_found);
  Product product;
  REQUIRE_CODE(store.find_product(unknown, &product), Code::not_found);  // asking created nothing
}

TEST_CASE("persist contract: an event for a product never created leaves the rest of its batch alone", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  ProductId unknown = (std::int64_t{1} << 61) + random_id();
  UserId user = random_id();
  // The same user on both products: one order per user per product, so the
  // event for the unknown product does not make the other already_purchased.
  std::vector<OrderEvent> batch = {make_event(unknown, user, 1), make_event(product.id, user, 1)};
  std::vector<PersistResult> results = persist(store, batch);
  INFO("unknown product -> " << text(results[0]));
  CHECK(results[0].status == RequestStatus::failed);
  CHECK(results[0].reason == "unknown_product");
  CHECK(results[1].status == RequestStatus::success);

  std::vector<PersistResult> again = persist(store, batch);
  CHECK(text(again[0]) == text(results[0]));
  CHECK(text(again[1]) == text(results[1]));
  RequestState state;
  REQUIRE_OK(store.find_request(batch[0].request_id, &state));
  CHECK(text(state) == text(results[0]));
  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders == 1);
  CHECK(sales.failed_requests == 0);
  Product found;
  REQUIRE_CODE(store.find_product(unknown, &found), Code::not_found);
  REQUIRE_CODE(store.sales(unknown, &sales), Code::not_found);
}

TEST_CASE("persist contract: everything persisted survives a restart", "[persist][restart]") {
  std::optional<Backends> backends(std::in_place);
  std::shared_ptr<test::TempDir> state = backends->dir();
  OrderStore* store = &backends->store();
  Product product = create_product(*store);
  UserId users = random_id();
  std::vector<OrderEvent> events = {make_event(product.id, users + 0, 1), make_event(product.id, users + 1, 2),
                                    make_event(product.id, users + 2, 3), make_event(product.id, users + 3, 4),
                                    make_event(product.id, users + 0, 1)};  // already_purchased
  std::vector<PersistResult> results = persist(*store, events);
  REQUIRE(results[4].status == RequestStatus::failed);
  Order order;
  REQUIRE_OK(store->pay(results[1].order_id, "pay-" + events[1].request_id, 2 * events[1].unit_price, &order));
  REQUIRE_OK(store->cancel(results[2].order_id, events[2].user_id, &order));  // its return stays pending
  REQUIRE_OK(store->cancel(results[3].order_id, events[3].user_id, &order));
  REQUIRE_OK(store->complete_stock_returns({results[3].order_id}));

  std::vector<Order> orders(4);
  for (int i = 0; i < 4; ++i) REQUIRE_OK(store->find_order(results[i].order_id, &orders[i]));
  ProductSales sales = sales_of(*store, product.id);

  backends.reset();  // the process stops
  backends.emplace(Overrides{}, state);
  store = &backends->store();

  Product found;
  REQUIRE_OK(store->find_product(product.id, &found));
  CHECK(found.name == product.name);
  CHECK(found.stock == product.stock);
  CHECK(found.sale_price == product.sale_price);
  CHECK(found.start_ms == product.start_ms);
  CHECK(found.end_ms == product.end_ms);
  require_same_sales(sales_of(*store, product.id), sales);
  for (int i = 0; i < 4; ++i) {
    INFO("order " << i);
    Order now;
    REQUIRE_OK(store->find_order(results[i].order_id, &now));
    require_same_order(now, orders[i]);
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    RequestState request;
    REQUIRE_OK(store->find_request(events[i].request_id, &request));
    CHECK(text(request) == text(results[i]));
  }
  std::vector<StockReturn> pending;
  REQUIRE_OK(store->pending_stock_returns(1'000'000, {}, &pending));
  std::set<OrderId> ours;
  for (const StockReturn& r : pending) {
    if (r.order_id == results[2].order_id || r.order_id == results[3].order_id) ours.insert(r.order_id);
  }
  CHECK(ours == std::set<OrderId>{results[2].order_id});

  // The restarted store goes on from there: redelivery changes nothing, ids
  // are not handed out again, one active order per user per product holds.
  std::vector<PersistResult> again = persist(*store, events);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(text(again[i]) == text(results[i]));
  OrderEvent fresh = make_event(product.id, users + 4, 1);
  OrderEvent holder = make_event(product.id, users + 0, 1);     // still holds an order
  OrderEvent cancelled = make_event(product.id, users + 2, 1);  // whose order was cancelled: may buy again
  std::vector<PersistResult> more = persist(*store, {fresh, holder, cancelled});
  CHECK(more[0].status == RequestStatus::success);
  CHECK(more[1].reason == "already_purchased");
  CHECK(more[2].status == RequestStatus::success);
  for (int i = 0; i < 4; ++i) {
    CHECK(more[0].order_id != results[i].order_id);
    CHECK(more[2].order_id != results[i].order_id);
  }
  Product other = create_product(*store);
  CHECK(other.id != product.id);
}

}  // namespace flashsale::conformance
