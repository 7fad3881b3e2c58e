// The memory order store beyond the conformance suite: the input it refuses,
// events for products it does not know, and the lifecycle at its exact
// edges on a fake clock (the deadline instant, expiry order and limits).
#include <catch2/catch.hpp>

#include <limits>
#include <memory>

#include "fake_clock.h"
#include "memory/memory_stages.h"

namespace flashsale::memory {

namespace {

constexpr std::int64_t kTimeoutMs = 60'000;

struct Fixture {
  test::FakeClock time;
  std::unique_ptr<OrderStore> store{new_order_store(time.clock())};
  Product product;

  Fixture() { REQUIRE(store->create_product(NewProduct{"p", 100, 100, 0, 1}, &product).is_ok()); }

  OrderId place(UserId user, std::int32_t quantity = 1, std::int64_t timeout_ms = kTimeoutMs) {
    OrderEvent event{"r" + std::to_string(user), user, product.id, quantity, 100, 0};
    std::vector<PersistResult> results;
    REQUIRE(store->persist({event}, timeout_ms, &results).is_ok());
    REQUIRE(results[0].status == RequestStatus::success);
    return results[0].order_id;
  }
  Order find(OrderId id) {
    Order order;
    REQUIRE(store->find_order(id, &order).is_ok());
    return order;
  }
  ProductSales sales() {
    ProductSales totals;
    REQUIRE(store->sales(product.id, &totals).is_ok());
    return totals;
  }
};

}  // namespace

TEST_CASE("memory persist: a product with bad fields is refused", "[memory][persist]") {
  std::unique_ptr<OrderStore> store(new_order_store());
  Product created;
  CHECK(store->create_product(NewProduct{"", 1, 1, 0, 1}, &created).code() == Code::invalid_argument);
  CHECK(store->create_product(NewProduct{"p", -1, 1, 0, 1}, &created).code() == Code::invalid_argument);
  CHECK(store->create_product(NewProduct{"p", 1, 1, 5, 5}, &created).code() == Code::invalid_argument);
  REQUIRE(store->create_product(NewProduct{"p", 1, 1, 0, 1}, &created).is_ok());
  CHECK(created.id == 1);
}

TEST_CASE("memory persist: an event for an unknown product fails, the batch still commits", "[memory][persist]") {
  std::unique_ptr<OrderStore> store(new_order_store());
  Product product;
  REQUIRE(store->create_product(NewProduct{"p", 10, 100, 0, 1}, &product).is_ok());
  std::vector<PersistResult> results;
  REQUIRE(store
              ->persist({OrderEvent{"a", 1, product.id + 1, 1, 100, 0}, OrderEvent{"b", 1, product.id, 1, 100, 0}},
                        kTimeoutMs, &results)
              .is_ok());
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == RequestStatus::failed);
  CHECK(results[0].reason == "unknown_product");
  CHECK(results[1].status == RequestStatus::success);
  ProductSales sales;
  REQUIRE(store->sales(product.id, &sales).is_ok());
  CHECK(sales.orders == 1);
  CHECK(sales.failed_requests == 0);
  CHECK(store->sales(product.id + 1, &sales).code() == Code::not_found);
}

TEST_CASE("memory persist: a negative payment timeout is refused and writes nothing", "[memory][persist]") {
  Fixture f;
  std::vector<PersistResult> results;
  CHECK(f.store->persist({OrderEvent{"a", 1, f.product.id, 1, 100, 0}}, -1, &results).code() == Code::invalid_argument);
  RequestState state;
  CHECK(f.store->find_request("a", &state).code() == Code::not_found);
  CHECK(f.sales().orders == 0);

  // A timeout past the end of time is a deadline that never comes, not an overflow.
  OrderId forever = f.place(2, 1, std::numeric_limits<std::int64_t>::max());
  CHECK(f.find(forever).deadline_ms == std::numeric_limits<UnixMillis>::max());
}

TEST_CASE("memory persist: a payment one millisecond before the deadline wins and at the deadline loses",
          "[memory][persist]") {
  Fixture f;
  OrderId early = f.place(1, 2);
  OrderId late = f.place(2, 3);
  Order order = f.find(early);
  CHECK(order.created_ms == f.time.now());
  CHECK(order.deadline_ms == f.time.now() + kTimeoutMs);

  f.time.advance(kTimeoutMs - 1);
  REQUIRE(f.store->pay(early, "p1", 200, &order).is_ok());
  CHECK(order.paid_ms == f.time.now());
  f.time.advance(1);
  CHECK(f.store->pay(late, "p2", 300, &order).code() == Code::order_cancelled);
  CHECK(order.cancel_reason == kPaymentTimeout);
  CHECK(order.cancelled_ms == f.time.now());

  // Cancelled by the payment, exactly as the expiry would have: not twice.
  std::vector<Order> expired;
  REQUIRE(f.store->expire_due(f.time.now() + kTimeoutMs, 10, &expired).is_ok());
  CHECK(expired.empty());
  ProductSales sales = f.sales();
  CHECK(sales.orders_paid == 1);
  CHECK(sales.quantity_paid == 2);
  CHECK(sales.orders_cancelled == 1);
  CHECK(sales.quantity_cancelled == 3);
  CHECK(sales.quantity_returns_pending == 3);
  CHECK(sales.orders_awaiting_payment == 0);
  CHECK(sales.quantity_awaiting_payment == 0);

  CHECK(f.store->pay(late, "p2", 301, &order).code() == Code::amount_mismatch);  // the amount is checked first
  CHECK(f.store->pay(early, "", 200, &order).code() == Code::invalid_argument);
}

TEST_CASE("memory persist: expiry goes soonest deadline first and stops at now and at the limit", "[memory][persist]") {
  Fixture f;
  std::vector<OrderId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(f.place(i + 1));
    f.time.advance(10);
  }
  UnixMillis first_deadline = f.find(ids[0]).deadline_ms;
  std::vector<Order> expired;
  REQUIRE(f.store->expire_due(first_deadline - 1, 10, &expired).is_ok());
  CHECK(expired.empty());

  // Due: ids[0..2]. Two per call, in deadline order, appended.
  REQUIRE(f.store->expire_due(first_deadline + 20, 2, &expired).is_ok());
  REQUIRE(expired.size() == 2);
  REQUIRE(f.store->expire_due(first_deadline + 20, 2, &expired).is_ok());
  REQUIRE(expired.size() == 3);
  for (std::size_t i = 0; i < expired.size(); ++i) {
    CHECK(expired[i].id == ids[i]);
    CHECK(expired[i].cancel_reason == kPaymentTimeout);
    CHECK(expired[i].cancelled_ms == first_deadline + 20);  // the caller's now
  }
  REQUIRE(f.store->expire_due(first_deadline + 20, 0, &expired).is_ok());
  CHECK(expired.size() == 3);
  CHECK(f.find(ids[3]).status == OrderStatus::awaiting_payment);

  // The stock returns come in the order they were recorded, not by order id.
  Order cancelled;
  REQUIRE(f.store->cancel(ids[4], 5, &cancelled).is_ok());
  std::vector<StockReturn> pending;
  REQUIRE(f.store->pending_stock_returns(10, {}, &pending).is_ok());
  REQUIRE(pending.size() == 4);
  CHECK(pending[3].order_id == ids[4]);
  REQUIRE(f.store->complete_stock_returns({ids[1], ids[4]}).is_ok());
  REQUIRE(f.store->pending_stock_returns(10, {}, &pending).is_ok());
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].order_id == ids[0]);
  CHECK(pending[1].order_id == ids[2]);
  CHECK(f.sales().quantity_returns_pending == 2);
}

TEST_CASE("memory persist: a cancelled buyer orders again and the old request still finds its order",
          "[memory][persist]") {
  Fixture f;
  OrderId first = f.place(7);
  Order order;
  REQUIRE(f.store->cancel(first, 7, &order).is_ok());
  std::vector<PersistResult> results;
  REQUIRE(f.store->persist({OrderEvent{"again", 7, f.product.id, 1, 100, 0}}, kTimeoutMs, &results).is_ok());
  REQUIRE(results[0].status == RequestStatus::success);
  OrderId second = results[0].order_id;

  RequestState state;
  REQUIRE(f.store->find_request("r7", &state).is_ok());
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == first);
  // Paying the new order does not touch the cancelled one.
  REQUIRE(f.store->pay(second, "p", 100, &order).is_ok());
  CHECK(f.find(first).status == OrderStatus::cancelled);
  CHECK(f.store->cancel(second, 7, &order).code() == Code::already_paid);
  CHECK(f.store->cancel(second, 8, &order).code() == Code::not_found);
}

}  // namespace flashsale::memory
