// lua/compensate.lua, lua/unlock.lua and the state writes through the redis
// Notifier stage: compensation at most once, the lock released only by its
// own request, final states with their TTL, lookup and backfill (the state
// layout itself: request_states_test.cpp).
#include <catch2/catch.hpp>

#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {
PersistResult failed(const std::string& reason) {
  return PersistResult{RequestStatus::failed, reason, 0};
}
}  // namespace

TEST_CASE("compensation called twice restores the stock once", "[redis][notify]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 5, 3);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 7);

  REQUIRE(stages.notifier().finish(event, failed("already_purchased")).is_ok());
  REQUIRE(stages.notifier().finish(event, failed("already_purchased")).is_ok());
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 10);

  // The script alone, too: the marker makes the second call a no-op.
  std::string marker = keys::compensated(product, "direct");
  CHECK(client.eval_script("compensate", {keys::sale(product), marker}, {"2", "60000"})->integer == 1);
  CHECK(client.eval_script("compensate", {keys::sale(product), marker}, {"2", "60000"})->integer == 0);
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 12);
  CHECK(client.integer({"PTTL", marker}) > 0);  // expires with the stock it protects
}

TEST_CASE("a failed finish releases the user lock and the user can buy again", "[redis][notify]") {
  SaleFixture sale(1);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 9);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  REQUIRE(stages.notifier().finish(event, failed("payment")).is_ok());

  RequestState state;
  REQUIRE(stages.notifier().lookup(event.request_id, &state).is_ok());
  CHECK(state.status == RequestStatus::failed);
  CHECK(state.reason == "payment");
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 9), ""}).status.is_ok());
}

TEST_CASE("unlock with a foreign request_id leaves the lock", "[redis][notify]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent holder = make_event(product, 3);
  REQUIRE(stages.admission().admit(AdmitRequest{holder, ""}).status.is_ok());

  CHECK(client.eval_script("unlock", {keys::user_lock(product, 3)}, {"someone-else"})->integer == 0);
  CHECK(client.text({"GET", keys::user_lock(product, 3)}) == holder.request_id);

  OrderEvent stale = make_event(product, 3);  // an earlier request of the same user, failing late
  REQUIRE(stages.notifier().finish(stale, failed("late")).is_ok());
  CHECK(client.text({"GET", keys::user_lock(product, 3)}) == holder.request_id);

  CHECK(client.eval_script("unlock", {keys::user_lock(product, 3)}, {holder.request_id})->integer == 1);
  CHECK_FALSE(client.exists(keys::user_lock(product, 3)));
}

TEST_CASE("success states, lookup and backfill", "[redis][notify]") {
  SaleFixture sale(10, {{"request.state.ttl.sec", "600"}});
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 4);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  REQUIRE(stages.notifier().finish(event, PersistResult{RequestStatus::success, "", 77}).is_ok());

  RequestState state;
  REQUIRE(stages.notifier().lookup(event.request_id, &state).is_ok());
  CHECK(state.request_id == event.request_id);
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == 77);
  long long ttl = client.integer({"TTL", keys::state(event.request_id)});
  CHECK(ttl > 590);
  CHECK(ttl <= 600);
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 9);  // success keeps the sale

  CHECK(stages.notifier().lookup("never-seen", &state).code() == Code::not_found);
  REQUIRE(stages.notifier().backfill(RequestState{"from-store", RequestStatus::failed, "sold_out", 0}).is_ok());
  REQUIRE(stages.notifier().lookup("from-store", &state).is_ok());
  CHECK(state.status == RequestStatus::failed);
  CHECK(state.reason == "sold_out");
  CHECK(stages.notifier().finish(event, PersistResult{RequestStatus::pending, "", 0}).code() == Code::invalid_argument);
}

}  // namespace flashsale::redis::test
