// The memory rate limiter beyond the conformance suite: the window slides
// request by request, and idle subjects do not stay in memory.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <random>

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

TEST_CASE("memory ratelimit: the log agrees with a plain sliding window", "[memory][ratelimit]") {
  // The log keeps its first times inline and spills past them; a reference
  // window on a std::deque must decide every request the same.
  for (std::int64_t limit : {1, 2, 3, 5, 8}) {
    test::FakeClock time;
    MemoryRateLimiter limiter(limit, 1000, time.clock());
    std::map<std::string, std::deque<UnixMillis>> reference;
    std::mt19937 random(static_cast<std::uint32_t>(limit));
    for (int i = 0; i < 5000; ++i) {
      time.advance(std::uniform_int_distribution<int>(0, 150)(random));
      std::string subject = "u:" + std::to_string(std::uniform_int_distribution<int>(0, 3)(random));
      std::deque<UnixMillis>& window = reference[subject];
      while (!window.empty() && window.front() + 1000 <= time.now()) window.pop_front();
      bool expected = static_cast<std::int64_t>(window.size()) < limit;
      if (expected) window.push_back(time.now());
      if (allow(limiter, subject) != expected) FAIL("limit " << limit << ", request " << i);
    }
  }
}

}  // namespace flashsale::memory
