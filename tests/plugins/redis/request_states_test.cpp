// The request states of plugins/redis/request_states.h: the string encoding
// (round trip, strict decoding), and against a real redis-server the native
// writes: pending only if absent, a TTL on every write, a garbled value is
// internal, and a state hash left by an older version reads as not_found and
// is replaced by the backfill.
#include <catch2/catch.hpp>

#include "redis/keys.h"
#include "redis/request_states.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {

RequestState round_trip(const RequestState& state) {
  RequestState out;
  Status status = decode_state(state.request_id, encode_state(state), &out);
  REQUIRE(status.is_ok());
  return out;
}

void check_ttl(Client& client, const std::string& request_id, long long ttl_sec) {
  long long ttl = client.integer({"TTL", keys::state(request_id)});
  CHECK(ttl > ttl_sec - 10);
  CHECK(ttl <= ttl_sec);
}

}  // namespace

TEST_CASE("state encoding round trip", "[redis][state]") {
  RequestState pending{"r1", RequestStatus::pending, "", 0};
  CHECK(encode_state(pending) == "pending|0|");
  RequestState out = round_trip(pending);
  CHECK(out.request_id == "r1");
  CHECK(out.status == RequestStatus::pending);
  CHECK(out.reason.empty());
  CHECK(out.order_id == 0);

  out = round_trip(RequestState{"r2", RequestStatus::success, "", 9007199254740993});
  CHECK(out.status == RequestStatus::success);
  CHECK(out.order_id == 9007199254740993);
  CHECK(out.reason.empty());

  out = round_trip(RequestState{"r3", RequestStatus::failed, "sold_out|really||", 0});
  CHECK(out.status == RequestStatus::failed);
  CHECK(out.reason == "sold_out|really||");
  CHECK(out.order_id == 0);

  out = round_trip(RequestState{"r4", RequestStatus::failed, "|", 0});
  CHECK(out.reason == "|");
}

TEST_CASE("a garbled state value is internal and names the request", "[redis][state]") {
  for (const char* value : {"", "pending", "pending|0", "done|0|", "Pending|0|", "success||", "success|x|",
                            "success|12x|", "success| 12|", "success|+12|", "success|99999999999999999999|"}) {
    INFO(value);
    RequestState out;
    Status status = decode_state("req-7", value, &out);
    CHECK(status.code() == Code::internal);
    CHECK(status.message().find("req-7") != std::string::npos);
  }
}

TEST_CASE("state writes: pending only if absent, a TTL on every write", "[redis][state]") {
  SaleFixture sale(10, {{"request.state.ttl.sec", "600"}});
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 1);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  CHECK(client.text({"TYPE", keys::state(event.request_id)}) == "string");
  CHECK(client.text({"GET", keys::state(event.request_id)}) == "pending|0|");
  check_ttl(client, event.request_id, 600);

  REQUIRE(stages.notifier().finish(event, PersistResult{RequestStatus::success, "", 42}).is_ok());
  CHECK(client.text({"GET", keys::state(event.request_id)}) == "success|42|");
  check_ttl(client, event.request_id, 600);

  // A late pending (the consumer was faster than admission's follow-up)
  // leaves the final state alone, and its nil reply fails nothing.
  OrderEvent late = make_event(product, 2);
  REQUIRE(stages.notifier().backfill(RequestState{late.request_id, RequestStatus::success, "", 43}).is_ok());
  client.run({"EXPIRE", keys::state(late.request_id), "100"});
  REQUIRE(stages.admission().admit(AdmitRequest{late, ""}).status.is_ok());
  CHECK(client.text({"GET", keys::state(late.request_id)}) == "success|43|");
  check_ttl(client, late.request_id, 100);  // untouched by the refused SET NX

  REQUIRE(stages.notifier().backfill(RequestState{"from-store", RequestStatus::failed, "a|b", 0}).is_ok());
  CHECK(client.text({"GET", keys::state("from-store")}) == "failed|0|a|b");
  check_ttl(client, "from-store", 600);
}

TEST_CASE("lookup of a garbled state value is internal", "[redis][state]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  client.run({"SET", keys::state("bad"), "success|not-a-number|"});
  RequestState state;
  Status status = stages.notifier().lookup("bad", &state);
  CHECK(status.code() == Code::internal);
  CHECK(status.message().find("bad") != std::string::npos);
  client.run({"SET", keys::state("bad"), "cancelled|0|"});
  CHECK(stages.notifier().lookup("bad", &state).code() == Code::internal);
}

TEST_CASE("a state hash of an older version reads as not_found and the backfill replaces it", "[redis][state]") {
  SaleFixture sale(10, {{"request.state.ttl.sec", "600"}});
  auto& [server, stages, client, product] = sale;
  client.run({"HSET", keys::state("old"), "status", "success", "reason", "", "order_id", "5"});
  RequestState state;
  CHECK(stages.notifier().lookup("old", &state).code() == Code::not_found);

  REQUIRE(stages.notifier().backfill(RequestState{"old", RequestStatus::success, "", 5}).is_ok());
  CHECK(client.text({"TYPE", keys::state("old")}) == "string");
  check_ttl(client, "old", 600);
  REQUIRE(stages.notifier().lookup("old", &state).is_ok());
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == 5);

  // finish_all's state round overwrites one the same way.
  OrderEvent event = make_event(product, 1);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  client.run({"DEL", keys::state(event.request_id)});
  client.run({"HSET", keys::state(event.request_id), "status", "pending"});
  std::vector<bool> finished(1, false);
  REQUIRE(
      stages.notifier().finish_all({event}, {PersistResult{RequestStatus::failed, "payment", 0}}, &finished).is_ok());
  CHECK(finished == std::vector<bool>{true});
  CHECK(client.text({"GET", keys::state(event.request_id)}) == "failed|0|payment");
  check_ttl(client, event.request_id, 600);
}

}  // namespace flashsale::redis::test
