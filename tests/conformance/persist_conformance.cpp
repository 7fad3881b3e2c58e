// Conformance of the persist stage (order_store.h): the catalog, batches that
// become orders, redelivery that changes nothing, one order per user per
// product, and the sales totals. The fixture gives each test case a fresh
// DB_PATH, but the tests assume nothing about what else the store holds.
#include "conformance.h"
#include "flashsale/clock.h"

namespace flashsale::conformance {

namespace {

Product create_product(OrderStore& store, std::int64_t stock = 100, std::int32_t stock_shards = 1) {
  UnixMillis now = now_ms();
  NewProduct product;
  product.name = "conformance " + random_request_id();
  product.stock = stock;
  product.stock_shards = stock_shards;
  product.sale_price = 12345;
  product.start_ms = now - 3600 * 1000;
  product.end_ms = now + 3600 * 1000;
  Product created;
  REQUIRE_OK(store.create_product(product, &created));
  return created;
}

std::vector<PersistResult> persist(OrderStore& store, const std::vector<OrderEvent>& events) {
  std::vector<PersistResult> results;
  REQUIRE_OK(store.persist(events, 3600 * 1000, &results));
  REQUIRE(results.size() == events.size());
  return results;
}

void require_same_result(const PersistResult& actual, const PersistResult& expected) {
  CHECK(actual.status == expected.status);
  CHECK(actual.reason == expected.reason);
  CHECK(actual.order_id == expected.order_id);
}

}  // namespace

TEST_CASE("persist: a created product can be found", "[persist]") {
  Backends backends;
  Product created = create_product(backends.store(), 42);
  Product other = create_product(backends.store());
  CHECK(created.id != 0);
  CHECK(other.id != created.id);

  Product found;
  REQUIRE_OK(backends.store().find_product(created.id, &found));
  CHECK(found.id == created.id);
  CHECK(found.name == created.name);
  CHECK(found.stock == 42);
  CHECK(found.sale_price == created.sale_price);
  CHECK(found.start_ms == created.start_ms);
  CHECK(found.end_ms == created.end_ms);

  ProductSales sales = sales_of(backends.store(), created.id);
  CHECK(sales.orders == 0);
  CHECK(sales.quantity_awaiting_payment == 0);
  CHECK(sales.failed_requests == 0);

  REQUIRE_CODE(backends.store().find_product((std::int64_t{1} << 62) + random_id(), &found), Code::not_found);
}

TEST_CASE("persist: a product keeps its stock_shards", "[persist]") {
  Backends backends;
  Product plain = create_product(backends.store());
  Product sharded = create_product(backends.store(), 100, 3);
  Product widest = create_product(backends.store(), 100, kMaxStockShards);
  CHECK(plain.stock_shards == 1);
  CHECK(sharded.stock_shards == 3);

  Product found;
  REQUIRE_OK(backends.store().find_product(plain.id, &found));
  CHECK(found.stock_shards == 1);
  REQUIRE_OK(backends.store().find_product(sharded.id, &found));
  CHECK(found.stock_shards == 3);
  REQUIRE_OK(backends.store().find_product(widest.id, &found));
  CHECK(found.stock_shards == kMaxStockShards);
}

TEST_CASE("persist: a batch becomes orders", "[persist]") {
  Backends backends;
  Product product = create_product(backends.store());
  UserId users = random_id();
  std::vector<OrderEvent> events = {make_event(product.id, users + 0, 1), make_event(product.id, users + 1, 2),
                                    make_event(product.id, users + 2, 3)};
  std::vector<PersistResult> results = persist(backends.store(), events);
  std::set<OrderId> order_ids;
  for (const PersistResult& result : results) {
    CHECK(result.status == RequestStatus::success);
    CHECK(result.order_id != 0);
    order_ids.insert(result.order_id);
  }
  CHECK(order_ids.size() == 3);

  ProductSales sales = sales_of(backends.store(), product.id);
  CHECK(sales.orders == 3);
  CHECK(sales.quantity_awaiting_payment == 6);
  CHECK(sales.failed_requests == 0);

  for (std::size_t i = 0; i < events.size(); ++i) {
    RequestState state;
    REQUIRE_OK(backends.store().find_request(events[i].request_id, &state));
    CHECK(state.request_id == events[i].request_id);
    CHECK(state.status == RequestStatus::success);
    CHECK(state.order_id == results[i].order_id);
  }
}

TEST_CASE("persist: a redelivered request gets the same result and no new order", "[persist]") {
  Backends backends;
  Product product = create_product(backends.store());
  UserId users = random_id();
  std::vector<OrderEvent> events = {make_event(product.id, users + 0, 1), make_event(product.id, users + 1, 2)};
  std::vector<PersistResult> first = persist(backends.store(), events);
  ProductSales before = sales_of(backends.store(), product.id);

  SECTION("the same batch again") {
    std::vector<PersistResult> again = persist(backends.store(), events);
    for (std::size_t i = 0; i < events.size(); ++i) require_same_result(again[i], first[i]);
  }
  SECTION("mixed with a new event, and twice within one batch") {
    OrderEvent fresh = make_event(product.id, users + 2, 4);
    std::vector<PersistResult> again = persist(backends.store(), {events[1], fresh, events[0], fresh});
    require_same_result(again[0], first[1]);
    require_same_result(again[2], first[0]);
    CHECK(again[1].status == RequestStatus::success);
    require_same_result(again[3], again[1]);
    before.orders += 1;
    before.quantity_awaiting_payment += 4;
  }
  ProductSales after = sales_of(backends.store(), product.id);
  CHECK(after.orders == before.orders);
  CHECK(after.quantity_awaiting_payment == before.quantity_awaiting_payment);
  CHECK(after.failed_requests == before.failed_requests);
}

TEST_CASE("persist: a second order of the same user fails already_purchased", "[persist]") {
  Backends backends;
  Product product = create_product(backends.store());
  UserId user = random_id();
  OrderEvent first = make_event(product.id, user, 1);
  OrderEvent second = make_event(product.id, user, 1);

  SECTION("in a later batch") {
    REQUIRE(persist(backends.store(), {first})[0].status == RequestStatus::success);
    PersistResult failed = persist(backends.store(), {second})[0];
    CHECK(failed.status == RequestStatus::failed);
    CHECK(failed.reason == "already_purchased");
  }
  SECTION("in the same batch") {
    std::vector<PersistResult> results = persist(backends.store(), {first, second});
    CHECK(results[0].status == RequestStatus::success);
    CHECK(results[1].status == RequestStatus::failed);
    CHECK(results[1].reason == "already_purchased");
  }

  // Redelivered, the failure stays the same failure and is counted once.
  PersistResult again = persist(backends.store(), {second})[0];
  CHECK(again.status == RequestStatus::failed);
  CHECK(again.reason == "already_purchased");
  RequestState state;
  REQUIRE_OK(backends.store().find_request(second.request_id, &state));
  CHECK(state.status == RequestStatus::failed);
  CHECK(state.reason == "already_purchased");

  ProductSales sales = sales_of(backends.store(), product.id);
  CHECK(sales.orders == 1);
  CHECK(sales.quantity_awaiting_payment == 1);
  CHECK(sales.failed_requests == 1);
}

TEST_CASE("persist: a request never persisted is not_found", "[persist]") {
  Backends backends;
  RequestState state;
  REQUIRE_CODE(backends.store().find_request(random_request_id(), &state), Code::not_found);
}

}  // namespace flashsale::conformance
