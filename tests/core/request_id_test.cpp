#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "flashsale/clock.h"
#include "pipeline/request_id.h"

namespace {

// The unix_ts_ms field of a UUIDv7 in text form: the first 12 hex digits.
std::int64_t timestamp_of(const std::string& id) {
  return std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
}

}  // namespace

TEST_CASE("request ids are UUID v7 and do not repeat", "[request_id]") {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    std::string id = flashsale::new_request_id();
    REQUIRE(id.size() == 36);
    REQUIRE(id[8] == '-');
    REQUIRE(id[13] == '-');
    REQUIRE(id[18] == '-');
    REQUIRE(id[23] == '-');
    REQUIRE(id.find_first_not_of("0123456789abcdef-") == std::string::npos);
    REQUIRE(id[14] == '7');
    REQUIRE(std::string("89ab").find(id[19]) != std::string::npos);
    REQUIRE(seen.insert(id).second);
  }
}

TEST_CASE("request ids carry their creation time and sort by it", "[request_id]") {
  flashsale::UnixMillis before = flashsale::now_ms();
  std::string first = flashsale::new_request_id();
  flashsale::UnixMillis after = flashsale::now_ms();
  CHECK(timestamp_of(first) >= before);
  CHECK(timestamp_of(first) <= after);

  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::string later = flashsale::new_request_id();
  CHECK(timestamp_of(later) > timestamp_of(first));
  CHECK(later > first);  // text order is time order: what keeps index inserts at the right edge
}

TEST_CASE("request ids keep 74 random bits: ids of the same millisecond differ beyond the time", "[request_id]") {
  std::set<std::string> tails;
  for (int i = 0; i < 1000; ++i) tails.insert(flashsale::new_request_id().substr(15));
  CHECK(tails.size() == 1000);
}
