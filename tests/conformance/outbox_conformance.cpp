// Conformance of the outbox stage (outbox.h): what admission appends is read
// with every field, ack ends delivery, an unacked entry comes back after the
// claim time, and one delivered too often is dead-lettered and counted; dead
// letters are listed in bounded pages, inspected, and replayed once.
// Entries of other test cases or earlier runs may be in the outbox too: the
// helpers skip them and leave them unacked.
#include "conformance.h"

namespace flashsale::conformance {

namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{10000};

// Admits one event on a fresh product and returns it.
OrderEvent admit_one(Backends& backends) {
  OpenSale sale = preload(backends.admission(), 10);
  OrderEvent event = make_event(sale.product, sale.user, 2);
  REQUIRE_OK(admit(backends.admission(), event).status);
  return event;
}

// Delivers each event's entry once and lets it go idle, so that (with
// outbox.max.deliveries=1) the next read dead-letters them.
void dead_letter(Backends& backends, const std::vector<OrderEvent>& events) {
  std::set<std::string> ids;
  for (const OrderEvent& event : events) ids.insert(event.request_id);
  REQUIRE(read_entries(backends.outbox(), ids, kTimeout).size() == events.size());
  CHECK(read_entries_for(backends.outbox(), ids, kClaimIdle * 4).empty());
}

// The dead letters of these request ids, paging through every dead letter
// (earlier runs' too) `page` at a time; checks the ids rise page by page.
std::vector<DeadLetter> listed(Outbox& outbox, const std::set<std::string>& request_ids, std::size_t page = 100) {
  std::vector<DeadLetter> found;
  std::string after;
  for (;;) {
    std::vector<DeadLetter> letters;
    REQUIRE_OK(outbox.list_dead_letters(after, page, &letters));
    REQUIRE(letters.size() <= page);
    for (const DeadLetter& letter : letters) {
      CHECK(letter.id != after);
      if (letter.decoded && request_ids.count(letter.event.request_id) != 0) found.push_back(letter);
    }
    if (letters.size() < page) return found;
    after = letters.back().id;
  }
}

}  // namespace

TEST_CASE("outbox: an admitted event is read with every field, and ack ends its delivery", "[outbox]") {
  Backends backends;
  OrderEvent event = admit_one(backends);

  std::vector<OutboxEntry> read = read_entries(backends.outbox(), {event.request_id}, kTimeout);
  REQUIRE(read.size() == 1);
  CHECK_FALSE(read[0].id.empty());
  CHECK(read[0].deliveries == 1);
  require_same_event(read[0].event, event);

  OutboxStats stats;
  REQUIRE_OK(backends.outbox().stats(&stats));
  CHECK(stats.pending >= 1);

  REQUIRE_OK(backends.outbox().ack({read[0].id}));
  CHECK(read_entries_for(backends.outbox(), {event.request_id}, kClaimIdle * 3).empty());
  // A late or unknown ack is harmless.
  REQUIRE_OK(backends.outbox().ack({read[0].id}));
}

TEST_CASE("outbox: an unacked entry is delivered again after the claim time", "[outbox]") {
  Backends backends;
  OrderEvent event = admit_one(backends);

  std::vector<OutboxEntry> first = read_entries(backends.outbox(), {event.request_id}, kTimeout);
  REQUIRE(first.size() == 1);
  CHECK(first[0].deliveries == 1);

  std::vector<OutboxEntry> again = read_entries(backends.outbox(), {event.request_id}, kTimeout);
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == first[0].id);
  CHECK(again[0].deliveries == 2);
  require_same_event(again[0].event, event);
  REQUIRE_OK(backends.outbox().ack({again[0].id}));
}

TEST_CASE("outbox: an entry delivered the most times allowed is dead-lettered and counted", "[outbox]") {
  Backends backends(Overrides{{"outbox.max.deliveries", "2"}});
  OutboxStats before;
  REQUIRE_OK(backends.outbox().stats(&before));
  OrderEvent event = admit_one(backends);

  for (std::uint32_t delivery = 1; delivery <= 2; ++delivery) {
    std::vector<OutboxEntry> read = read_entries(backends.outbox(), {event.request_id}, kTimeout);
    REQUIRE(read.size() == 1);
    CHECK(read[0].deliveries == delivery);
  }
  CHECK(read_entries_for(backends.outbox(), {event.request_id}, kClaimIdle * 4).empty());
  OutboxStats after;
  REQUIRE_OK(backends.outbox().stats(&after));
  CHECK(after.dead_lettered >= before.dead_lettered + 1);
}

}  // namespace flashsale::conformance

namespace flashsale::conformance {

TEST_CASE("outbox: a dead letter is listed and inspected, and a replay puts it back once", "[outbox]") {
  Backends backends(Overrides{{"outbox.max.deliveries", "1"}});
  OutboxStats before;
  REQUIRE_OK(backends.outbox().stats(&before));
  OrderEvent event = admit_one(backends);
  dead_letter(backends, {event});

  std::vector<DeadLetter> found = listed(backends.outbox(), {event.request_id});
  REQUIRE(found.size() == 1);
  const DeadLetter& letter = found[0];
  CHECK_FALSE(letter.id.empty());
  require_same_event(letter.event, event);
  CHECK(letter.deliveries == 1);
  CHECK_FALSE(letter.reason.empty());
  CHECK(letter.dead_ms > 0);
  DeadLetter inspected;
  REQUIRE_OK(backends.outbox().find_dead_letter(letter.id, &inspected));
  CHECK(inspected.id == letter.id);
  require_same_event(inspected.event, event);

  REQUIRE_OK(backends.outbox().replay_dead_letter(letter.id));
  REQUIRE_CODE(backends.outbox().replay_dead_letter(letter.id), Code::not_found);
  REQUIRE_CODE(backends.outbox().find_dead_letter(letter.id, &inspected), Code::not_found);
  CHECK(listed(backends.outbox(), {event.request_id}).empty());
  OutboxStats after;
  REQUIRE_OK(backends.outbox().stats(&after));
  CHECK(after.replayed >= before.replayed + 1);

  // Back in the outbox as a new entry: delivered from 1 again, and acked for good.
  std::vector<OutboxEntry> again = read_entries(backends.outbox(), {event.request_id}, kTimeout);
  REQUIRE(again.size() == 1);
  CHECK(again[0].deliveries == 1);
  require_same_event(again[0].event, event);
  REQUIRE_OK(backends.outbox().ack({again[0].id}));
  CHECK(read_entries_for(backends.outbox(), {event.request_id}, kClaimIdle * 3).empty());
}

TEST_CASE("outbox: dead-letter pages are bounded and run oldest first", "[outbox]") {
  Backends backends(Overrides{{"outbox.max.deliveries", "1"}});
  Outbox& outbox = backends.outbox();
  std::vector<DeadLetter> none;
  REQUIRE_CODE(outbox.list_dead_letters("", 0, &none), Code::invalid_argument);
  REQUIRE_CODE(outbox.list_dead_letters("", kMaxDeadLetterPage + 1, &none), Code::invalid_argument);
  REQUIRE_CODE(outbox.list_dead_letters("not an id", 1, &none), Code::invalid_argument);
  REQUIRE_OK(outbox.list_dead_letters("", kMaxDeadLetterPage, &none));
  CHECK(none.size() <= kMaxDeadLetterPage);
  DeadLetter letter;
  REQUIRE_CODE(outbox.find_dead_letter("not an id", &letter), Code::not_found);
  REQUIRE_CODE(outbox.replay_dead_letter("not an id"), Code::not_found);

  // Dead-lettered in one go, in the order they were admitted; paged one by one.
  OpenSale sale = preload(backends.admission(), 10);
  std::vector<OrderEvent> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(make_event(sale.product, sale.user + i, 1));
    REQUIRE_OK(admit(backends.admission(), events.back()).status);
  }
  dead_letter(backends, events);
  std::vector<DeadLetter> found = listed(outbox, {events[0].request_id, events[1].request_id, events[2].request_id}, 1);
  REQUIRE(found.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(found[i].event.request_id == events[i].request_id);
  for (const DeadLetter& dead : found) REQUIRE_OK(outbox.replay_dead_letter(dead.id));
  std::vector<OutboxEntry> back =
      read_entries(outbox, {events[0].request_id, events[1].request_id, events[2].request_id}, kTimeout);
  REQUIRE(back.size() == 3);
  std::vector<std::string> ids;
  for (const OutboxEntry& entry : back) ids.push_back(entry.id);
  REQUIRE_OK(outbox.ack(ids));
}

}  // namespace flashsale::conformance
