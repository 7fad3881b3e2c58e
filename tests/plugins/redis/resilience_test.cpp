// The redis family when Redis misbehaves: a lost script cache (SCRIPT FLUSH,
// restart), an unsafe eviction policy, and an outage during which admission
// answers unavailable and the same objects recover once Redis is back.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

TEST_CASE("after SCRIPT FLUSH every stage still succeeds on the first call", "[redis][noscript]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  client.run({"SCRIPT", "FLUSH"});
  OrderEvent event = make_event(product, 1);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  client.run({"SCRIPT", "FLUSH"});
  bool allowed = false;
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  client.run({"SCRIPT", "FLUSH"});
  REQUIRE(stages.notifier().finish(event, PersistResult{RequestStatus::failed, "x", 0}).is_ok());
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 10);
}

TEST_CASE(
    "after a Redis restart the next admission succeeds (stale "
    "connections, NOSCRIPT)",
    "[redis][noscript]") {
  RedisServer server(RedisServerOptions{true, {"--appendfsync", "always"}});
  Stages stages(server);
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(product, 10)).is_ok());
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), ""}).status.is_ok());

  server.kill();
  server.start();  // the AOF brings the stock back; the script cache is empty
  AdmitResult result = stages.admission().admit(AdmitRequest{make_event(product, 2), ""});
  INFO(result.status.message());
  REQUIRE(result.status.is_ok());
  StockLevel level;
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK(level.remaining == 8);
}

TEST_CASE("an eviction policy that could drop stock, locks or keys refuses start-up", "[redis][startup]") {
  RedisServer lru(RedisServerOptions{false, {"--maxmemory-policy", "allkeys-lru"}});
  std::string error = start_error(settings_for(lru));
  INFO(error);
  CHECK(error.find("redis.addr") != std::string::npos);
  CHECK(error.find(lru.addr()) != std::string::npos);
  CHECK(error.find("allkeys-lru") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);

  RedisServer volatile_lru(RedisServerOptions{false, {"--maxmemory-policy", "volatile-lru"}});
  CHECK(start_error(settings_for(volatile_lru)).find("volatile-lru") != std::string::npos);
  CHECK(start_error(settings_for(volatile_lru, {{"stock.cache.ttl.hour", "0"}})).empty());
}

TEST_CASE("Redis unreachable at start-up: a one-line refusal naming redis.addr", "[redis][startup]") {
  Settings settings;
  std::string addr = "127.0.0.1:" + std::to_string(flashsale::test::free_loopback_port());
  settings.set("redis.addr", addr);
  std::string error = start_error(settings);
  CHECK(error.find("redis.addr (REDIS_ADDR) " + addr) != std::string::npos);
  CHECK(error.find("cannot connect") != std::string::npos);
}

TEST_CASE(
    "Redis down: admit is unavailable, ratelimit fails, and the same "
    "objects recover",
    "[redis][outage]") {
  RedisServer server(RedisServerOptions{true, {"--appendfsync", "always"}});
  Stages stages(server);
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(product, 10)).is_ok());

  server.kill();
  AdmitResult result = stages.admission().admit(AdmitRequest{make_event(product, 1), ""});
  CHECK(result.status.code() == Code::unavailable);
  CHECK(result.status.message().find(server.addr()) != std::string::npos);
  bool allowed = false;
  CHECK_FALSE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  std::vector<OutboxEntry> entries;
  CHECK(stages.outbox().read(10, std::chrono::milliseconds(50), &entries).code() == Code::unavailable);
  RequestState state;
  CHECK(stages.notifier().lookup("r", &state).code() == Code::unavailable);

  server.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the pool's connect back-off
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), ""}).status.is_ok());
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  REQUIRE(stages.outbox().read(10, std::chrono::milliseconds(0), &entries).is_ok());
  CHECK(entries.size() == 1);
}

}  // namespace flashsale::redis::test
