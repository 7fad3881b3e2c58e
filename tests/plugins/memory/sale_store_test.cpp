// The memory sale store beyond the conformance suite, on a fake clock: the
// exact sale window, stock expiry, request-state expiry and its sweep, and
// compensation when there is no stock to give back.
#include <catch2/catch.hpp>

#include "fake_clock.h"
#include "memory/sale_store.h"

namespace flashsale::memory {

namespace {

constexpr std::int64_t kStateTtlMs = 10'000;

struct Fixture {
  test::FakeClock time;
  SaleStore store{StoreOptions{kStateTtlMs, std::chrono::milliseconds(1000), 3, time.clock()}};

  OrderEvent event(ProductId product, UserId user, std::string request_id) {
    return OrderEvent{std::move(request_id), user, product, 1, 100, time.now()};
  }
  Code admit(ProductId product, UserId user, std::string request_id) {
    return store.admit(AdmitRequest{event(product, user, std::move(request_id)), {}}).status.code();
  }
};

}  // namespace

TEST_CASE("memory admit: the sale window includes its start, not its end", "[memory][admit]") {
  Fixture f;
  UnixMillis start = f.time.now() + 1000;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, start, start + 1000, 0}).is_ok());
  f.time.advance(999);
  CHECK(f.admit(7, 1, "r1") == Code::sale_not_active);
  f.time.advance(1);
  CHECK(f.admit(7, 1, "r1") == Code::ok);
  f.time.advance(999);
  CHECK(f.admit(7, 2, "r2") == Code::ok);
  f.time.advance(1);
  CHECK(f.admit(7, 3, "r3") == Code::sale_not_active);
}

TEST_CASE("memory admit: stock expires after its ttl, locks stay", "[memory][admit]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 60}).is_ok());
  CHECK(f.admit(7, 1, "r1") == Code::ok);
  f.time.advance(60'000);
  CHECK_FALSE(f.store.stock(7).preloaded);
  CHECK(f.admit(7, 2, "r2") == Code::not_preloaded);

  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  CHECK(f.admit(7, 1, "r3") == Code::already_purchased);
  CHECK(f.admit(7, 2, "r2") == Code::ok);
}

TEST_CASE("memory notify: final states expire after the state ttl", "[memory][notify]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  REQUIRE(f.admit(7, 1, "r1") == Code::ok);
  REQUIRE(f.store.finish(f.event(7, 1, "r1"), PersistResult{RequestStatus::success, {}, 11}).is_ok());

  RequestState state;
  f.time.advance(kStateTtlMs - 1);
  REQUIRE(f.store.lookup("r1", &state).is_ok());
  CHECK(state.order_id == 11);
  f.time.advance(1);
  CHECK(f.store.lookup("r1", &state).code() == Code::not_found);
}

TEST_CASE("memory notify: expired states are swept without being read", "[memory][notify]") {
  Fixture f;
  f.store.states().sweep_if_due();  // the first sweep is due at once; start the interval now
  for (int i = 0; i < 100; ++i) {
    REQUIRE(f.store.backfill(RequestState{"r" + std::to_string(i), RequestStatus::failed, "x", 0}).is_ok());
  }
  CHECK(f.store.states().size() == 100);
  f.time.advance(kStateTtlMs);
  REQUIRE(f.store.backfill(RequestState{"fresh", RequestStatus::success, {}, 1}).is_ok());
  CHECK(f.store.states().size() == 1);
}

TEST_CASE("memory notify: compensation without stock is still done once", "[memory][notify]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 60}).is_ok());
  REQUIRE(f.admit(7, 1, "r1") == Code::ok);
  f.time.advance(60'000);  // the stock expired
  REQUIRE(f.store.finish(f.event(7, 1, "r1"), PersistResult{RequestStatus::failed, "x", 0}).is_ok());

  // A re-preload counts from persisted orders: a late compensation must not add to it.
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  REQUIRE(f.store.finish(f.event(7, 1, "r1"), PersistResult{RequestStatus::failed, "x", 0}).is_ok());
  CHECK(f.store.stock(7).remaining == 10);
  CHECK(f.admit(7, 1, "r2") == Code::ok);  // the lock was released
}

TEST_CASE("memory admit: bad input changes nothing", "[memory][admit]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  OrderEvent zero = f.event(7, 1, "r1");
  zero.quantity = 0;
  CHECK(f.store.admit(AdmitRequest{zero, {}}).status.code() == Code::invalid_argument);
  CHECK(f.store.load_stock(SaleStock{7, -1, 0, 1, 0}).code() == Code::invalid_argument);
  CHECK(f.store.stock(7).remaining == 10);
  CHECK(f.admit(7, 1, "r1") == Code::ok);
}

}  // namespace flashsale::memory
