#include <catch2/catch.hpp>

#include <set>

#include "pipeline/request_id.h"

TEST_CASE("request ids are UUID v4 and do not repeat", "[request_id]") {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    std::string id = flashsale::new_request_id();
    REQUIRE(id.size() == 36);
    REQUIRE(id[8] == '-');
    REQUIRE(id[14] == '4');
    REQUIRE(std::string("89ab").find(id[19]) != std::string::npos);
    REQUIRE(seen.insert(id).second);
  }
}
