// Conformance of the relay stage (relay.h): what is published is polled with
// every field, and what was committed is not polled again. Messages of other
// test cases or earlier runs may arrive too: the helpers skip them.
#include <map>

#include "conformance.h"

namespace flashsale::conformance {

namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{15000};

std::vector<OrderEvent> some_events(int count) {
  ProductId product = random_id();
  UserId users = random_id();
  std::vector<OrderEvent> events;
  for (int i = 0; i < count; ++i) events.push_back(make_event(product, users + i, 1 + i));
  return events;
}

std::set<std::string> request_ids(const std::vector<OrderEvent>& events) {
  std::set<std::string> ids;
  for (const OrderEvent& event : events) ids.insert(event.request_id);
  return ids;
}

void publish_all(Relay& relay, const std::vector<OrderEvent>& events) {
  std::vector<bool> delivered;
  REQUIRE_OK(relay.publish(events, &delivered));
  REQUIRE(delivered.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(delivered[i]);
}

}  // namespace

TEST_CASE("relay: published events are polled with every field", "[relay]") {
  Backends backends;
  std::vector<OrderEvent> events = some_events(3);
  publish_all(backends.relay(), events);

  std::vector<OrderEvent> polled = poll_events(backends.relay(), request_ids(events), kTimeout);
  REQUIRE(polled.size() == events.size());
  std::map<std::string, OrderEvent> by_id;
  for (const OrderEvent& event : polled) by_id[event.request_id] = event;
  for (const OrderEvent& event : events) {
    REQUIRE(by_id.count(event.request_id) == 1);
    require_same_event(by_id[event.request_id], event);
  }
  REQUIRE_OK(backends.relay().commit());
}

TEST_CASE("relay: committed events are not polled again", "[relay]") {
  Backends backends;
  std::vector<OrderEvent> events = some_events(2);
  publish_all(backends.relay(), events);
  REQUIRE(poll_events(backends.relay(), request_ids(events), kTimeout).size() == 2);
  REQUIRE_OK(backends.relay().commit());

  std::vector<OrderEvent> later = some_events(1);
  publish_all(backends.relay(), later);
  CHECK(poll_events(backends.relay(), request_ids(later), kTimeout).size() == 1);
  CHECK(poll_events_for(backends.relay(), request_ids(events), milliseconds(500)).empty());
  REQUIRE_OK(backends.relay().commit());
}

TEST_CASE("relay: publishing nothing delivers nothing", "[relay]") {
  Backends backends;
  std::vector<bool> delivered;
  REQUIRE_OK(backends.relay().publish({}, &delivered));
  CHECK(delivered.empty());
}

}  // namespace flashsale::conformance
