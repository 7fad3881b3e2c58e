// Conformance of the outbox stage (outbox.h): what admission appends is read
// with every field, ack ends delivery, an unacked entry comes back after the
// claim time, and one delivered too often is dead-lettered and counted.
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
