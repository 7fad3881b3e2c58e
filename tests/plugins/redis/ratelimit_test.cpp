// lua/ratelimit.lua through the redis RateLimiter: a sliding window per
// subject on Redis' clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

TEST_CASE("the rate limiter allows `limit` requests per window and subject", "[redis][ratelimit]") {
  RedisServer server;
  Stages stages(server, {{"buy.rate.limit", "3"}, {"buy.rate.window.sec", "1"}});
  bool allowed = false;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
    CHECK(allowed);
  }
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  CHECK_FALSE(allowed);
  REQUIRE(stages.ratelimit().allow("ip:127.0.0.1", &allowed).is_ok());
  CHECK(allowed);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the window slides past
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  CHECK(allowed);
}


TEST_CASE("an admission with a rate-limit subject counts in the limiter's window and refuses over it",
          "[redis][ratelimit][admit]") {
  SaleFixture sale(10, {{"buy.rate.limit", "3"}, {"buy.rate.window.sec", "1"}});
  auto& [server, stages, client, product] = sale;
  const std::string stream = "flash_sale:order_events";
  REQUIRE(stages.admission().counts_rate_limit());

  bool allowed = false;
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());  // 1 of 3, on the stage
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), "", "u:1"}).status.is_ok());  // 2
  // 3: a refused admission is counted all the same.
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 1), "", "u:1"}).status.code() ==
        Code::already_purchased);

  AdmitResult limited = stages.admission().admit(AdmitRequest{make_event(product, 2), "", "u:1"});
  CHECK(limited.status.code() == Code::rate_limited);
  CHECK(sale.remaining() == 9);  // the refusal changed nothing else
  CHECK_FALSE(client.exists(keys::user_lock(product, 2)));
  CHECK(client.integer({"XLEN", stream}) == 1);
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  CHECK_FALSE(allowed);  // the stage and the admission share the window

  // A window key of another type is skipped: fail-open, like the host.
  client.run({"SET", keys::rate_window("u:3"), "not a sorted set"});
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 3), "", "u:3"}).status.is_ok());

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the window slides past
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 2), "", "u:1"}).status.is_ok());
  CHECK(sale.remaining() == 7);
}


// admit.lua reads the pause flag once per call and takes the window and the
// lock each by a SET ... NX GET: each mix of them must still give its own
// answer.
TEST_CASE("with the buyer's rate window present a held lock and a paused sale are each told apart",
          "[redis][ratelimit][admit]") {
  SaleFixture sale(10, {{"buy.rate.limit", "100"}});
  auto& [server, stages, client, product] = sale;
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), "", "u:1"}).status.is_ok());
  REQUIRE(client.exists(keys::rate_window("u:1")));
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 1), "", "u:1"}).status.code() ==
        Code::already_purchased);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 2), "", "u:1"}).status.is_ok());

  client.run({"SET", keys::rate_window("u:9"), "not a sorted set"});
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 9), "", "u:9"}).status.is_ok());
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 9), "", "u:9"}).status.code() ==
        Code::already_purchased);

  REQUIRE(stages.admission().set_paused(product, true).is_ok());
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 3), "", "u:1"}).status.code() == Code::sale_paused);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 1), "", "u:1"}).status.code() == Code::sale_paused);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 4), "", "u:9"}).status.code() == Code::sale_paused);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 5), "", "u:5"}).status.code() == Code::sale_paused);
  REQUIRE(stages.admission().set_paused(product, false).is_ok());
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 3), "", "u:1"}).status.is_ok());
  CHECK(sale.remaining() == 6);
}


// A subject's window is a string while it made one request within the
// window (one SET ... NX), and a sorted set from its second: both scripts
// read and grow either form the same way.
TEST_CASE("a rate window is a string for one request and a sorted set from the second, in both scripts",
          "[redis][ratelimit][admit]") {
  SaleFixture sale(10, {{"buy.rate.limit", "3"}, {"buy.rate.window.sec", "60"}});
  auto& [server, stages, client, product] = sale;
  const std::string window = keys::rate_window("u:5");
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 5), "", "u:5"}).status.is_ok());
  CHECK(client.text({"TYPE", window}) == "string");
  CHECK(client.integer({"PTTL", window}) > 50000);  // it expires with the window
  bool allowed = false;
  REQUIRE(stages.ratelimit().allow("u:5", &allowed).is_ok());
  CHECK(allowed);
  CHECK(client.text({"TYPE", window}) == "zset");
  CHECK(client.integer({"ZCARD", window}) == 2);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 6), "", "u:5"}).status.is_ok());
  CHECK(client.integer({"ZCARD", window}) == 3);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 7), "", "u:5"}).status.code() == Code::rate_limited);
  REQUIRE(stages.ratelimit().allow("u:5", &allowed).is_ok());
  CHECK_FALSE(allowed);

  // The other order: the stage first, then the admission grows it.
  REQUIRE(stages.ratelimit().allow("u:8", &allowed).is_ok());
  CHECK(client.text({"TYPE", keys::rate_window("u:8")}) == "string");
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 8), "", "u:8"}).status.is_ok());
  CHECK(client.integer({"ZCARD", keys::rate_window("u:8")}) == 2);

  // A window key of another type is skipped by the admission (fail-open).
  client.run({"HSET", keys::rate_window("u:9"), "x", "1"});
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 9), "", "u:9"}).status.is_ok());
  CHECK(sale.remaining() == 6);
}

TEST_CASE("with a limit of one a subject's second request within the window is refused by either script",
          "[redis][ratelimit][admit]") {
  SaleFixture sale(10, {{"buy.rate.limit", "1"}, {"buy.rate.window.sec", "60"}});
  auto& [server, stages, client, product] = sale;
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), "", "u:1"}).status.is_ok());
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 2), "", "u:1"}).status.code() == Code::rate_limited);
  bool allowed = true;
  REQUIRE(stages.ratelimit().allow("u:1", &allowed).is_ok());
  CHECK_FALSE(allowed);
  CHECK(client.text({"TYPE", keys::rate_window("u:1")}) == "string");
  CHECK(sale.remaining() == 9);
}

}  // namespace flashsale::redis::test
