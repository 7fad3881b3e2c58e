// The memory relay beyond the conformance suite: what it does with events
// polled but not committed (see memory_relay.cpp), and poll waking on publish.
#include <catch2/catch.hpp>

#include <memory>
#include <thread>

#include "memory/memory_stages.h"

namespace flashsale::memory {

using namespace std::chrono_literals;

namespace {
std::vector<OrderEvent> poll(Relay& relay, std::size_t max, std::chrono::milliseconds wait) {
  std::vector<OrderEvent> out;
  REQUIRE(relay.poll(max, wait, &out).is_ok());
  return out;
}
}  // namespace

TEST_CASE("memory relay: polled events are handed out once, in publish order", "[memory][relay]") {
  std::unique_ptr<Relay> relay(new_relay());
  std::vector<bool> delivered;
  REQUIRE(
      relay
          ->publish({OrderEvent{"a", 1, 1, 1, 1, 0}, OrderEvent{"b", 2, 1, 1, 1, 0}, OrderEvent{"c", 3, 1, 1, 1, 0}},
                    &delivered)
          .is_ok());
  CHECK(delivered == std::vector<bool>{true, true, true});

  std::vector<OrderEvent> first = poll(*relay, 2, 0ms);
  REQUIRE(first.size() == 2);
  CHECK(first[0].request_id == "a");
  CHECK(first[1].request_id == "b");
  std::vector<OrderEvent> second = poll(*relay, 10, 0ms);  // not committed, yet not handed out again
  REQUIRE(second.size() == 1);
  CHECK(second[0].request_id == "c");
  REQUIRE(relay->commit().is_ok());
  CHECK(poll(*relay, 10, 0ms).empty());
}

TEST_CASE("memory relay: poll waits for a publish", "[memory][relay]") {
  std::unique_ptr<Relay> relay(new_relay());
  std::thread publisher([&] {
    std::this_thread::sleep_for(50ms);
    std::vector<bool> delivered;
    relay->publish({OrderEvent{"a", 1, 1, 1, 1, 0}}, &delivered);
  });
  std::vector<OrderEvent> polled = poll(*relay, 10, 10s);
  publisher.join();
  REQUIRE(polled.size() == 1);
  CHECK(polled[0].request_id == "a");
}

}  // namespace flashsale::memory
