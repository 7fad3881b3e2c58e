// The memory rate limiter beyond the conformance suite: the window slides
// request by request, and idle subjects do not stay in memory.
#include <catch2/catch.hpp>

#include "fake_clock.h"
#include "memory/memory_ratelimit.h"

namespace flashsale::memory {

namespace {
bool allow(MemoryRateLimiter& limiter, const std::string& subject) {
  bool allowed = false;
  REQUIRE(limiter.allow(subject, &allowed).is_ok());
  return allowed;
}
}  // namespace

TEST_CASE("memory ratelimit: the window slides request by request", "[memory][ratelimit]") {
  test::FakeClock time;
  MemoryRateLimiter limiter(2, 1000, time.clock());
  CHECK(allow(limiter, "u:1"));
  time.advance(500);
  CHECK(allow(limiter, "u:1"));
  time.advance(400);
  CHECK_FALSE(allow(limiter, "u:1"));  // two in the last 1000 ms
  time.advance(100);
  CHECK(allow(limiter, "u:1"));  // the first left the window; denied ones never counted
  CHECK_FALSE(allow(limiter, "u:1"));
}

TEST_CASE("memory ratelimit: idle subjects are dropped", "[memory][ratelimit]") {
  test::FakeClock time;
  MemoryRateLimiter limiter(5, 1000, time.clock());
  for (int user = 0; user < 200; ++user) allow(limiter, "u:" + std::to_string(user));
  CHECK(limiter.subject_count() == 200);

  time.advance(500);
  allow(limiter, "ip:10.0.0.1");
  CHECK(limiter.subject_count() == 201);  // nobody idle for a whole window yet

  time.advance(600);
  allow(limiter, "ip:10.0.0.2");
  CHECK(limiter.subject_count() == 2);  // the 200 users went idle; the IPs are recent
}

}  // namespace flashsale::memory
