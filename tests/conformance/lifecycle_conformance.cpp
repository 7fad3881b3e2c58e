// Conformance of the order lifecycle: the persist stage's state machine
// (order_store.h: pay, cancel, expire_due, stock returns), a payment racing
// the expiry and a cancel on the same orders, and the admit stage's
// once-per-order stock return (admission.h: return_stock).
#include <atomic>
#include <mutex>
#include <thread>

#include "conformance.h"
#include "flashsale/clock.h"

namespace flashsale::conformance {

namespace {

constexpr std::int64_t kPaymentTimeoutMs = 3600 * 1000;
constexpr std::int64_t kUnitPrice = 12345;  // make_event's

Product create_product(OrderStore& store) {
  UnixMillis now = now_ms();
  NewProduct product{"lifecycle " + random_request_id(), 1000, kUnitPrice, now - 3600 * 1000, now + 3600 * 1000};
  Product created;
  REQUIRE_OK(store.create_product(product, &created));
  return created;
}

// Persists one order per event and returns their ids.
std::vector<OrderId> place_orders(OrderStore& store, const std::vector<OrderEvent>& events,
                                  std::int64_t payment_timeout_ms = kPaymentTimeoutMs) {
  std::vector<PersistResult> results;
  REQUIRE_OK(store.persist(events, payment_timeout_ms, &results));
  REQUIRE(results.size() == events.size());
  std::vector<OrderId> ids;
  for (const PersistResult& result : results) {
    REQUIRE(result.status == RequestStatus::success);
    ids.push_back(result.order_id);
  }
  return ids;
}

OrderId place_order(OrderStore& store, const OrderEvent& event, std::int64_t payment_timeout_ms = kPaymentTimeoutMs) {
  return place_orders(store, {event}, payment_timeout_ms)[0];
}

Order find(OrderStore& store, OrderId id) {
  Order order;
  REQUIRE_OK(store.find_order(id, &order));
  return order;
}

std::vector<StockReturn> pending_returns_of(OrderStore& store, const std::set<OrderId>& ids) {
  return pending_returns_where(store,
                               [&](const StockReturn& r) { return !r.is_top_up() && ids.count(r.order_id) != 0; });
}

// Calls expire_due(now) with a small limit until a call cancels fewer than
// the limit, and returns every order it cancelled.
std::vector<Order> expire_all(OrderStore& store, UnixMillis now) {
  constexpr std::size_t kLimit = 2;
  std::vector<Order> cancelled;
  for (int round = 0; round < 100'000; ++round) {
    std::size_t before = cancelled.size();
    REQUIRE_OK(store.expire_due(now, kLimit, &cancelled));
    REQUIRE(cancelled.size() - before <= kLimit);
    if (cancelled.size() - before < kLimit) return cancelled;
  }
  FAIL("expire_due never ran out of due orders");
  return cancelled;
}

void require_awaiting(const Order& order, const OrderEvent& event) {
  CHECK(order.status == OrderStatus::awaiting_payment);
  CHECK(order.request_id == event.request_id);
  CHECK(order.user_id == event.user_id);
  CHECK(order.product_id == event.product_id);
  CHECK(order.quantity == event.quantity);
  CHECK(order.amount == event.quantity * event.unit_price);
  CHECK(order.cancel_reason.empty());
  CHECK(order.payment_id.empty());
  CHECK(order.paid_ms == 0);
  CHECK(order.cancelled_ms == 0);
  CHECK_FALSE(order.stock_return_pending);
}

// Places `count` orders of `product`, each by its own buyer, and cancels
// them: their ids, oldest first, each with a stock return pending.
std::vector<OrderId> cancelled_orders(OrderStore& store, ProductId product, int count) {
  UserId users = random_id();
  std::vector<OrderId> ids;
  for (int i = 0; i < count; ++i) {
    OrderEvent event = make_event(product, users + i);
    ids.push_back(place_order(store, event));
    Order order;
    REQUIRE_OK(store.cancel(ids.back(), event.user_id, &order));
  }
  return ids;
}

}  // namespace

TEST_CASE("lifecycle: a new order awaits payment until its deadline", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  OrderEvent event = make_event(product.id, random_id(), 2);
  UnixMillis before = now_ms();
  OrderId id = place_order(store, event);
  UnixMillis after = now_ms();

  Order order = find(store, id);
  CHECK(order.id == id);
  require_awaiting(order, event);
  CHECK(order.created_ms >= before - 1000);
  CHECK(order.created_ms <= after + 1000);
  CHECK(order.deadline_ms == order.created_ms + kPaymentTimeoutMs);

  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders == 1);
  CHECK(sales.orders_awaiting_payment == 1);
  CHECK(sales.quantity_awaiting_payment == 2);
  CHECK(sales.quantity_held() == 2);

  REQUIRE_CODE(store.find_order(id + (std::int64_t{1} << 50), &order), Code::not_found);
}

TEST_CASE("lifecycle: pay moves an awaiting order to paid once", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  OrderEvent event = make_event(product.id, random_id(), 3);
  OrderId id = place_order(store, event);
  std::int64_t amount = 3 * kUnitPrice;
  std::string payment = "pay-" + random_request_id();

  Order order;
  SECTION("a wrong amount changes nothing") {
    REQUIRE_CODE(store.pay(id, payment, amount - 1, &order), Code::amount_mismatch);
    CHECK(order.id == id);
    require_awaiting(find(store, id), event);
  }
  SECTION("paid, a replay of the same payment is ok and changes nothing") {
    REQUIRE_OK(store.pay(id, payment, amount, &order));
    CHECK(order.status == OrderStatus::paid);
    CHECK(order.payment_id == payment);
    CHECK(order.paid_ms > 0);
    Order replay;
    REQUIRE_OK(store.pay(id, payment, amount, &replay));
    CHECK(replay.status == OrderStatus::paid);
    CHECK(replay.paid_ms == order.paid_ms);

    SECTION("another payment is already_paid") {
      Order other;
      REQUIRE_CODE(store.pay(id, payment + "-2", amount, &other), Code::already_paid);
      CHECK(other.payment_id == payment);
    }
    SECTION("a paid order cannot be cancelled") {
      Order cancelled;
      REQUIRE_CODE(store.cancel(id, event.user_id, &cancelled), Code::already_paid);
      CHECK(cancelled.status == OrderStatus::paid);
    }
    SECTION("a paid order never expires") {
      std::vector<Order> expired = expire_all(store, order.deadline_ms + 1000);
      for (const Order& e : expired) CHECK(e.id != id);
    }
    Order now = find(store, id);
    CHECK(now.status == OrderStatus::paid);
    CHECK(now.payment_id == payment);
    ProductSales sales = sales_of(store, product.id);
    CHECK(sales.orders_paid == 1);
    CHECK(sales.quantity_paid == 3);
    CHECK(sales.orders_awaiting_payment == 0);
    CHECK(sales.quantity_awaiting_payment == 0);
    CHECK(sales.quantity_held() == 3);
  }
  SECTION("an unknown order is not_found") {
    REQUIRE_CODE(store.pay(id + (std::int64_t{1} << 50), payment, amount, &order), Code::not_found);
  }
}

TEST_CASE("lifecycle: the buyer cancels an awaiting order and its stock return is recorded", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  OrderEvent event = make_event(product.id, random_id(), 2);
  OrderId id = place_order(store, event);

  Order order;
  REQUIRE_CODE(store.cancel(id, event.user_id + 1, &order), Code::not_found);
  require_awaiting(find(store, id), event);

  REQUIRE_OK(store.cancel(id, event.user_id, &order));
  CHECK(order.status == OrderStatus::cancelled);
  CHECK(order.cancel_reason == kUserCancelled);
  CHECK(order.cancelled_ms > 0);
  CHECK(order.stock_return_pending);
  Order replay;
  REQUIRE_OK(store.cancel(id, event.user_id, &replay));
  CHECK(replay.cancelled_ms == order.cancelled_ms);
  CHECK(replay.cancel_reason == kUserCancelled);

  Order paid;
  REQUIRE_CODE(store.pay(id, "late", 2 * kUnitPrice, &paid), Code::order_cancelled);
  CHECK(paid.cancel_reason == kUserCancelled);
  CHECK(find(store, id).status == OrderStatus::cancelled);

  std::vector<StockReturn> pending = pending_returns_of(store, {id});
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].request_id == event.request_id);
  CHECK(pending[0].user_id == event.user_id);
  CHECK(pending[0].product_id == product.id);
  CHECK(pending[0].quantity == 2);

  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders_cancelled == 1);
  CHECK(sales.quantity_cancelled == 2);
  CHECK(sales.quantity_returns_pending == 2);
  CHECK(sales.orders_awaiting_payment == 0);
  CHECK(sales.quantity_held() == 2);

  // Completing the return twice, mixed with ids that are not pending, is
  // the same as once.
  REQUIRE_OK(store.complete_stock_returns({id, id + (std::int64_t{1} << 50)}));
  REQUIRE_OK(store.complete_stock_returns({id}));
  CHECK(pending_returns_of(store, {id}).empty());
  CHECK_FALSE(find(store, id).stock_return_pending);
  sales = sales_of(store, product.id);
  CHECK(sales.quantity_returns_pending == 0);
  CHECK(sales.quantity_held() == 0);
  // A cancel replayed after the return completed records no second return.
  REQUIRE_OK(store.cancel(id, event.user_id, &replay));
  CHECK(pending_returns_of(store, {id}).empty());
}

TEST_CASE("lifecycle: after a cancel the buyer may order again, once", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  UserId user = random_id();
  OrderEvent first = make_event(product.id, user);
  OrderEvent refused = make_event(product.id, user);
  OrderEvent second = make_event(product.id, user);
  OrderEvent third = make_event(product.id, user);
  OrderId first_id = place_order(store, first);

  std::vector<PersistResult> results;
  REQUIRE_OK(store.persist({refused}, kPaymentTimeoutMs, &results));
  CHECK(results[0].reason == "already_purchased");

  Order order;
  REQUIRE_OK(store.cancel(first_id, user, &order));
  OrderId second_id = place_order(store, second);
  CHECK(second_id != first_id);
  require_awaiting(find(store, second_id), second);

  // One active order at a time still holds.
  REQUIRE_OK(store.persist({third}, kPaymentTimeoutMs, &results));
  CHECK(results[0].status == RequestStatus::failed);
  CHECK(results[0].reason == "already_purchased");

  // Redelivered, each request keeps its first outcome: the refused one does
  // not become an order now that the order which refused it is cancelled,
  // and the cancelled one does not come back.
  REQUIRE_OK(store.persist({refused, first}, kPaymentTimeoutMs, &results));
  CHECK(results[0].status == RequestStatus::failed);
  CHECK(results[0].reason == "already_purchased");
  CHECK(results[1].status == RequestStatus::success);
  CHECK(results[1].order_id == first_id);
  CHECK(find(store, first_id).status == OrderStatus::cancelled);

  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders == 2);
  CHECK(sales.orders_awaiting_payment == 1);
  CHECK(sales.orders_cancelled == 1);
  CHECK(sales.failed_requests == 2);
}

TEST_CASE("lifecycle: expiry cancels exactly the orders whose deadline passed", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  UserId users = random_id();
  std::vector<OrderEvent> events;
  for (int i = 0; i < 5; ++i) events.push_back(make_event(product.id, users + i));
  std::vector<OrderId> ids = place_orders(store, events);
  std::set<OrderId> ours(ids.begin(), ids.end());
  Order paid;
  REQUIRE_OK(store.pay(ids[4], "paid-" + random_request_id(), kUnitPrice, &paid));
  UnixMillis latest = 0;
  UnixMillis earliest = INT64_MAX;
  for (OrderId id : ids) {
    latest = std::max(latest, find(store, id).deadline_ms);
    earliest = std::min(earliest, find(store, id).deadline_ms);
  }

  for (const Order& order : expire_all(store, earliest - 1)) CHECK(ours.count(order.id) == 0);
  std::vector<Order> expired = expire_all(store, latest);
  std::set<OrderId> cancelled;
  for (const Order& order : expired) {
    if (ours.count(order.id) == 0) continue;
    CHECK(cancelled.insert(order.id).second);
    CHECK(order.status == OrderStatus::cancelled);
    CHECK(order.cancel_reason == kPaymentTimeout);
    CHECK(order.stock_return_pending);
  }
  CHECK(cancelled == std::set<OrderId>(ids.begin(), ids.begin() + 4));
  for (const Order& order : expire_all(store, latest + 1000)) CHECK(ours.count(order.id) == 0);

  CHECK(find(store, ids[4]).status == OrderStatus::paid);
  CHECK(find(store, ids[0]).cancel_reason == kPaymentTimeout);
  CHECK(pending_returns_of(store, ours).size() == 4);
  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders_cancelled == 4);
  CHECK(sales.quantity_returns_pending == 4);
  CHECK(sales.orders_paid == 1);
}

TEST_CASE("lifecycle: a payment at or after the deadline loses to the expiry", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  OrderEvent event = make_event(product.id, random_id());
  OrderId id = place_order(store, event, 1);
  UnixMillis deadline = find(store, id).deadline_ms;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (now_ms() <= deadline && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  REQUIRE(now_ms() > deadline);

  Order order;
  REQUIRE_CODE(store.pay(id, "too-late", kUnitPrice, &order), Code::order_cancelled);
  CHECK(order.status == OrderStatus::cancelled);
  CHECK(order.cancel_reason == kPaymentTimeout);
  CHECK(order.stock_return_pending);
  CHECK(pending_returns_of(store, {id}).size() == 1);
  for (const Order& expired : expire_all(store, deadline + 1000)) CHECK(expired.id != id);
}

TEST_CASE("lifecycle: payments racing the expiry and cancels have one winner per order", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  constexpr int kOrders = 300;
  UserId users = random_id();
  std::vector<OrderEvent> events;
  for (int i = 0; i < kOrders; ++i) events.push_back(make_event(product.id, users + i));
  std::vector<OrderId> ids = place_orders(store, events);
  std::set<OrderId> ours(ids.begin(), ids.end());
  UnixMillis due = find(store, ids.back()).deadline_ms + 1000;

  // Threads record what they were told; the checks run on this thread.
  std::mutex mutex;
  std::vector<int> paid_ok(kOrders, 0), cancel_ok(kOrders, 0), errors;
  std::vector<OrderId> expired;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {  // payers, from either end
      while (!go) std::this_thread::yield();
      for (int n = 0; n < kOrders; ++n) {
        int i = t == 0 ? n : kOrders - 1 - n;
        Order order;
        Status status = store.pay(ids[i], "race-" + std::to_string(i), kUnitPrice, &order);
        std::lock_guard lock(mutex);
        if (status.is_ok())
          ++paid_ok[i];
        else if (status.code() != Code::order_cancelled)
          errors.push_back(i);
      }
    });
  }
  threads.emplace_back([&] {  // the buyers of every third order cancel
    while (!go) std::this_thread::yield();
    for (int i = 0; i < kOrders; i += 3) {
      Order order;
      Status status = store.cancel(ids[i], events[i].user_id, &order);
      std::lock_guard lock(mutex);
      if (status.is_ok())
        ++cancel_ok[i];
      else if (status.code() != Code::already_paid)
        errors.push_back(i);
    }
  });
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {  // two expirers, as two processes would
      while (!go) std::this_thread::yield();
      for (int round = 0; round < 50; ++round) {
        std::vector<Order> cancelled;
        Status status = store.expire_due(due, 7, &cancelled);
        std::lock_guard lock(mutex);
        if (!status.is_ok()) errors.push_back(-1);
        for (const Order& order : cancelled) expired.push_back(order.id);
      }
    });
  }
  go = true;
  for (std::thread& thread : threads) thread.join();
  for (const Order& order : expire_all(store, due)) expired.push_back(order.id);

  CHECK(errors.empty());
  std::map<OrderId, int> expired_count;
  for (OrderId id : expired) {
    if (ours.count(id) != 0) ++expired_count[id];
  }
  int paid = 0, cancelled = 0;
  for (int i = 0; i < kOrders; ++i) {
    INFO("order " << i);
    Order order = find(store, ids[i]);
    REQUIRE(order.status != OrderStatus::awaiting_payment);
    CHECK(expired_count[ids[i]] <= 1);
    if (order.status == OrderStatus::paid) {
      ++paid;
      CHECK(paid_ok[i] >= 1);  // both payers use the same payment_id: the loser replays
      CHECK(cancel_ok[i] == 0);
      CHECK(expired_count[ids[i]] == 0);
    } else {
      ++cancelled;
      CHECK(paid_ok[i] == 0);
      CHECK(cancel_ok[i] + expired_count[ids[i]] >= 1);
      CHECK(expired_count[ids[i]] + (order.cancel_reason == kUserCancelled ? 1 : 0) == 1);
    }
  }
  CHECK(paid + cancelled == kOrders);
  CHECK(pending_returns_of(store, ours).size() == static_cast<std::size_t>(cancelled));
  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.orders_paid == paid);
  CHECK(sales.orders_cancelled == cancelled);
  CHECK(sales.quantity_returns_pending == cancelled);
  CHECK(sales.orders_awaiting_payment == 0);
}

TEST_CASE("lifecycle: stock returns are listed oldest first and limited", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  std::vector<OrderId> ids = cancelled_orders(store, product.id, 4);
  std::vector<StockReturn> all;
  REQUIRE_OK(store.pending_stock_returns(1'000'000, {}, &all));
  std::vector<OrderId> order_of_ours;
  for (const StockReturn& r : all) {
    if (std::find(ids.begin(), ids.end(), r.order_id) != ids.end()) order_of_ours.push_back(r.order_id);
  }
  CHECK(order_of_ours == ids);
  std::vector<StockReturn> two;
  REQUIRE_OK(store.pending_stock_returns(2, {}, &two));
  CHECK(two.size() == 2);
}

TEST_CASE("lifecycle: the admit stage takes an order's stock back once and frees its buyer", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 5);
  OrderEvent event = make_event(sale.product, sale.user, 2);
  REQUIRE_OK(admit(admission, event).status);
  REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user)).status, Code::already_purchased);
  CHECK(remaining(admission, sale.product) == 3);

  StockReturn back{random_id(), event.request_id, sale.user, sale.product, 2};
  REQUIRE_OK(admission.return_stock(back));
  REQUIRE_OK(admission.return_stock(back));
  CHECK(remaining(admission, sale.product) == 5);

  OrderEvent again = make_event(sale.product, sale.user, 1);
  REQUIRE_OK(admit(admission, again).status);
  CHECK(remaining(admission, sale.product) == 4);

  // The lock now holds the new request: returning the old order again (or
  // another order of the same request) neither frees it nor adds stock twice.
  REQUIRE_OK(admission.return_stock(back));
  REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user)).status, Code::already_purchased);
  CHECK(remaining(admission, sale.product) == 4);

  // A second order of the same product comes back on its own key.
  StockReturn other{back.order_id + 1, again.request_id, sale.user, sale.product, 1};
  REQUIRE_OK(admission.return_stock(other));
  CHECK(remaining(admission, sale.product) == 5);
  REQUIRE_OK(admit(admission, make_event(sale.product, sale.user)).status);
}

TEST_CASE("lifecycle: a return to a product without stock adds nothing and is not_preloaded", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  ProductId product = random_id();
  StockReturn back{random_id(), random_request_id(), random_id(), product, 3};
  REQUIRE_CODE(admission.return_stock(back), Code::not_preloaded);
  StockLevel level;
  REQUIRE_OK(admission.stock(product, &level));
  CHECK_FALSE(level.preloaded);
  // Nothing was remembered: once stock is loaded, the same return counts.
  REQUIRE_OK(admission.load_stock(open_sale(product, 10)));
  REQUIRE_OK(admission.return_stock(back));
  CHECK(remaining(admission, product) == 13);
}

TEST_CASE("lifecycle: pending returns are listed past a cursor, orders by id then top-ups by id", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);
  std::vector<OrderId> ids = cancelled_orders(store, product.id, 3);
  StockReturn top_up;
  REQUIRE_OK(store.record_top_up(product.id, 5, &top_up));
  // Past the first order: the other two, then the top-up.
  std::vector<StockReturn> page;
  REQUIRE_OK(store.pending_stock_returns(1'000'000, StockReturnCursor{ids[0], top_up.top_up_id - 1}, &page));
  std::vector<OrderId> orders;
  std::vector<TopUpId> top_ups;
  for (const StockReturn& r : page) {
    if (r.product_id != product.id) continue;
    if (r.is_top_up()) {
      top_ups.push_back(r.top_up_id);
    } else {
      orders.push_back(r.order_id);
    }
  }
  CHECK(orders == std::vector<OrderId>{ids[1], ids[2]});
  CHECK(top_ups == std::vector<TopUpId>{top_up.top_up_id});
  // Past every order and the top-up: nothing of this product.
  page.clear();
  REQUIRE_OK(store.pending_stock_returns(1'000'000, StockReturnCursor{ids[2], top_up.top_up_id}, &page));
  for (const StockReturn& r : page) CHECK(r.product_id != product.id);
}

}  // namespace flashsale::conformance
