// A fault at each write of lua/admit.lua (a key it writes holds the wrong
// type beforehand) must never leave the stock decremented without the lock,
// the pending state and the outbox entry: the script validates every key
// before its first write, so the admission is refused whole.
#include <catch2/catch.hpp>

#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

TEST_CASE("a wrong-type key at any admit write leaves no half-applied admission", "[redis][admit][fault]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  const std::string stream = "flash_sale:order_events";

  struct Fault {
    const char* name;
    std::vector<std::string> setup;  // the command that plants the fault
    std::vector<std::string> undo;
  };
  const UserId user = 11;
  std::vector<Fault> faults = {
      {"stock decrement",
       {"HSET", keys::sale(product), "remaining", "ten"},
       {"HSET", keys::sale(product), "remaining", "10"}},
      {"lock expiry",
       {"HSET", keys::sale(product), "expires_ms", "soon"},
       {"HSET", keys::sale(product), "expires_ms",
        std::to_string(client.integer({"PEXPIRETIME", keys::sale(product)}))}},
      {"user lock", {"HSET", keys::user_lock(product, user), "x", "1"}, {"DEL", keys::user_lock(product, user)}},
      {"idempotency key",
       {"LPUSH", keys::idempotency(product, "key"), "x"},
       {"DEL", keys::idempotency(product, "key")}},
      {"outbox XADD", {"SET", stream, "not a stream"}, {"DEL", stream}},
  };
  for (const Fault& fault : faults) {
    SECTION(fault.name) {
      client.run(fault.setup);
      OrderEvent event = make_event(product, user);
      AdmitResult result = stages.admission().admit(AdmitRequest{event, "key"});
      CHECK_FALSE(result.status.is_ok());
      CHECK(result.status.code() == Code::internal);
      client.run(fault.undo);

      CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 10);
      CHECK_FALSE(client.exists(keys::user_lock(product, user)));
      CHECK_FALSE(client.exists(keys::idempotency(product, "key")));
      CHECK(client.integer({"XLEN", stream}) == 0);
      RequestState state;
      CHECK(stages.notifier().lookup(event.request_id, &state).code() == Code::not_found);

      // With the fault gone the same admission goes through whole.
      REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, user), "key"}).status.is_ok());
      CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 9);
      CHECK(client.integer({"XLEN", stream}) == 1);
    }
  }
}

TEST_CASE("out of memory refuses the admission before anything changes", "[redis][admit][fault]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  client.run({"CONFIG", "SET", "maxmemory", "1"});
  AdmitResult result = stages.admission().admit(AdmitRequest{make_event(product, 1), ""});
  client.run({"CONFIG", "SET", "maxmemory", "0"});
  CHECK(result.status.code() == Code::unavailable);
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 10);
  CHECK_FALSE(client.exists(keys::user_lock(product, 1)));
}

}  // namespace flashsale::redis::test
