#include <catch2/catch.hpp>

#include "flashsale/clock.h"

using flashsale::format_rfc3339;
using flashsale::parse_rfc3339;
using flashsale::UnixMillis;

TEST_CASE("RFC 3339 times parse to UTC milliseconds", "[clock]") {
  UnixMillis ms = 0;
  REQUIRE(parse_rfc3339("1970-01-01T00:00:00Z", &ms));
  CHECK(ms == 0);
  REQUIRE(parse_rfc3339("2026-01-01T10:00:00Z", &ms));
  CHECK(ms == 1767261600000);
  REQUIRE(parse_rfc3339("2026-01-01T18:00:00+08:00", &ms));
  CHECK(ms == 1767261600000);
  REQUIRE(parse_rfc3339("2026-01-01T10:00:00.250Z", &ms));
  CHECK(ms == 1767261600250);
}

TEST_CASE("malformed or impossible times are refused", "[clock]") {
  UnixMillis ms = 0;
  for (const char* bad : {"", "2026-01-01", "2026-01-01 10:00:00Z", "2026-01-01T10:00:00", "2026-13-01T00:00:00Z",
                          "2026-02-31T00:00:00Z", "2026-01-01T10:00:00Zjunk", "2026-01-01T10:00:00.Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad, &ms));
  }
}

TEST_CASE("formatting round-trips", "[clock]") {
  CHECK(format_rfc3339(1767261600000) == "2026-01-01T10:00:00Z");
  CHECK(format_rfc3339(1767261600250) == "2026-01-01T10:00:00.250Z");
  UnixMillis back = 0;
  REQUIRE(parse_rfc3339(format_rfc3339(1767261600250), &back));
  CHECK(back == 1767261600250);
}
