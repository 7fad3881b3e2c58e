// Conformance of the relay stage (relay.h): what is published is polled with
// every field, and what was committed is not polled again. Messages of other
// test cases or earlier runs may arrive too: the helpers skip them. An event
// the consumer rejects often enough is dead-lettered, listed, and replayed
// once.
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

TEST_CASE("relay: an event rejected its limit of times is dead-lettered and a replay brings it back once", "[relay]") {
  Backends backends;
  Relay& relay = backends.relay();
  RelayStats before;
  REQUIRE_OK(relay.stats(&before));
  std::vector<OrderEvent> events = some_events(2);
  publish_all(relay, events);
  std::vector<OrderEvent> polled = poll_events(relay, request_ids(events), kTimeout);
  REQUIRE(polled.size() == 2);

  // Rejected until the backend gives up on it (each family has a limit).
  const OrderEvent failing = events[0];
  bool dead = false;
  int attempts = 0;
  while (!dead && attempts < 1000) {
    ++attempts;
    REQUIRE_OK(relay.reject(failing, "internal: cannot be persisted", &dead));
  }
  REQUIRE(dead);
  REQUIRE_OK(relay.commit());
  RelayStats after;
  REQUIRE_OK(relay.stats(&after));
  CHECK(after.dead_lettered >= before.dead_lettered + 1);

  DeadLetter letter;
  std::string after_id;
  bool found = false;
  while (!found) {
    std::vector<DeadLetter> page;
    REQUIRE_OK(relay.list_dead_letters(after_id, kMaxDeadLetterPage, &page));
    for (const DeadLetter& one : page) {
      if (one.decoded && one.event.request_id == failing.request_id) letter = one, found = true;
    }
    if (page.size() < kMaxDeadLetterPage) break;
    after_id = page.back().id;
  }
  REQUIRE(found);
  require_same_event(letter.event, failing);
  CHECK(letter.reason == "internal: cannot be persisted");
  CHECK(letter.deliveries == static_cast<std::uint32_t>(attempts));
  DeadLetter inspected;
  REQUIRE_OK(relay.find_dead_letter(letter.id, &inspected));
  CHECK(inspected.event.request_id == failing.request_id);

  REQUIRE_OK(relay.replay_dead_letter(letter.id));
  REQUIRE_CODE(relay.replay_dead_letter(letter.id), Code::not_found);
  REQUIRE_CODE(relay.find_dead_letter(letter.id, &inspected), Code::not_found);
  std::vector<OrderEvent> back = poll_events(relay, {failing.request_id}, kTimeout);
  REQUIRE(back.size() == 1);
  require_same_event(back[0], failing);
  REQUIRE_OK(relay.commit());
  REQUIRE_OK(relay.stats(&after));
  CHECK(after.replayed >= before.replayed + 1);
}

TEST_CASE("relay: dead-letter pages are bounded and unknown ids are not found", "[relay]") {
  Backends backends;
  Relay& relay = backends.relay();
  std::vector<DeadLetter> page;
  REQUIRE_CODE(relay.list_dead_letters("", 0, &page), Code::invalid_argument);
  REQUIRE_CODE(relay.list_dead_letters("", kMaxDeadLetterPage + 1, &page), Code::invalid_argument);
  REQUIRE_CODE(relay.list_dead_letters("not an id", 1, &page), Code::invalid_argument);
  DeadLetter letter;
  REQUIRE_CODE(relay.find_dead_letter("not an id", &letter), Code::not_found);
  REQUIRE_CODE(relay.replay_dead_letter("not an id"), Code::not_found);
}

}  // namespace flashsale::conformance
