// Request ids as the memory stores keep them: UUID text packed into 16 bytes,
// anything else kept as text, and either way the same id comes back.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_set>

#include "memory/request_key.h"

namespace flashsale::memory {

TEST_CASE("request key: every id comes back as it went in", "[memory]") {
  for (const char* id : {"0190f1e2-7a3b-7c4d-8e5f-0123456789ab",  // packed
                         "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
                         "0190F1E2-7A3B-7C4D-8E5F-0123456789AB",  // upper case: kept as text
                         "0190f1e2-7a3b-7c4d-8e5f-0123456789ag", "0190f1e2_7a3b-7c4d-8e5f-0123456789ab",
                         "0190f1e2-7a3b-7c4d-8e5f-0123456789a", "r1", "", "req-10001-1"}) {
    CHECK(RequestKey(id).text() == id);
  }
}

TEST_CASE("request key: random UUIDs pack, and any one character changed still comes back", "[memory]") {
  std::mt19937_64 random(42);
  const std::string alphabet = "0123456789abcdefABCDEFgz-_/ \x7f\x80\xff";
  for (int i = 0; i < 2000; ++i) {
    std::string id(36, '-');
    for (std::size_t at = 0; at < id.size(); ++at) {
      if (at != 8 && at != 13 && at != 18 && at != 23) id[at] = "0123456789abcdef"[random() % 16];
    }
    RequestKey packed(id);
    REQUIRE(packed.text() == id);
    std::string changed = id;
    changed[random() % changed.size()] = alphabet[random() % alphabet.size()];
    RequestKey other(changed);
    REQUIRE(other.text() == changed);
    REQUIRE((other == packed) == (changed == id));
  }
}

TEST_CASE("request key: equal exactly when the ids are equal", "[memory]") {
  const char* ids[] = {"0190f1e2-7a3b-7c4d-8e5f-0123456789ab",
                       "0190f1e2-7a3b-7c4d-8e5f-0123456789ac",
                       "0190F1E2-7A3B-7C4D-8E5F-0123456789AB",
                       "00000000-0000-0000-0000-000000000000",
                       "",
                       "r1"};
  for (const char* a : ids) {
    for (const char* b : ids) {
      CHECK((RequestKey(a) == RequestKey(b)) == (std::string(a) == b));
      if (std::string(a) == b) CHECK(RequestKey(a).hash() == RequestKey(b).hash());
    }
  }
  RequestKey copy(RequestKey("r1"));
  RequestKey assigned;
  assigned = copy;
  CHECK(assigned == RequestKey("r1"));
  CHECK(assigned.text() == "r1");

  std::unordered_set<RequestKey> set;
  for (const char* id : ids) set.insert(RequestKey(id));
  CHECK(set.size() == std::size(ids));
}

}  // namespace flashsale::memory
