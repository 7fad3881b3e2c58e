// lua/ratelimit.lua through the redis RateLimiter: a sliding window per
// subject on Redis' clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

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

}  // namespace flashsale::redis::test
