// Conformance of the ratelimit stage (ratelimit.h): a sliding window per
// subject, limit kRateLimit per 60 s as the fixture configures it.
#include "conformance.h"

namespace flashsale::conformance {

namespace {

int allowed_of(RateLimiter& limiter, const std::string& subject, int requests) {
  int allowed_count = 0;
  for (int i = 0; i < requests; ++i) {
    bool allowed = false;
    REQUIRE_OK(limiter.allow(subject, &allowed));
    allowed_count += allowed ? 1 : 0;
  }
  return allowed_count;
}

}  // namespace

TEST_CASE("ratelimit: allows up to the limit, then denies", "[ratelimit]") {
  Backends backends;
  std::string subject = "u:" + std::to_string(random_id());
  for (int i = 0; i < kRateLimit; ++i) {
    bool allowed = false;
    REQUIRE_OK(backends.ratelimit().allow(subject, &allowed));
    CHECK(allowed);
  }
  for (int i = 0; i < 3; ++i) {
    bool allowed = true;
    REQUIRE_OK(backends.ratelimit().allow(subject, &allowed));
    CHECK_FALSE(allowed);
  }
}

TEST_CASE("ratelimit: subjects are counted apart", "[ratelimit]") {
  Backends backends;
  std::int64_t id = random_id();
  std::string user = "u:" + std::to_string(id);
  REQUIRE(allowed_of(backends.ratelimit(), user, kRateLimit + 2) == kRateLimit);

  CHECK(allowed_of(backends.ratelimit(), "u:" + std::to_string(id + 1), kRateLimit) == kRateLimit);
  // An IP subject is not the user with the same digits.
  CHECK(allowed_of(backends.ratelimit(), "ip:" + std::to_string(id), kRateLimit) == kRateLimit);
  CHECK(allowed_of(backends.ratelimit(), user, 1) == 0);
}

}  // namespace flashsale::conformance
