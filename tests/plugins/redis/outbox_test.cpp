// The redis Outbox on its Stream: reclaiming a dead reader's entries,
// dead-lettering after too many deliveries or an undecodable entry, and acks
// that remove only what was delivered.
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "flashsale/event_codec.h"
#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {

constexpr const char* kStream = "flash_sale:order_events";
const std::chrono::milliseconds kPastClaimIdle{300};  // the fixture's claim time is 200 ms

std::vector<OutboxEntry> read_now(Outbox& outbox, std::size_t max = 100) {
  std::vector<OutboxEntry> entries;
  REQUIRE(outbox.read(max, std::chrono::milliseconds(0), &entries).is_ok());
  return entries;
}

}  // namespace

TEST_CASE(
    "entries a reader took and never acked are claimed by another reader "
    "after the idle time",
    "[redis][outbox]") {
  RedisServer server;
  ProductId product = fresh_product();
  std::set<std::string> admitted;
  {
    Stages dying(server, {{"order.event.consumer", "relay-a"}});
    REQUIRE(dying.admission().load_stock(open_sale(product, 10)).is_ok());
    for (UserId user = 1; user <= 3; ++user) {
      OrderEvent event = make_event(product, user);
      REQUIRE(dying.admission().admit(AdmitRequest{event, ""}).status.is_ok());
      admitted.insert(event.request_id);
    }
    CHECK(read_now(dying.outbox()).size() == 3);
  }  // relay-a dies without acking

  Stages survivor(server, {{"order.event.consumer", "relay-b"}});
  CHECK(read_now(survivor.outbox()).empty());  // not idle long enough yet
  std::this_thread::sleep_for(kPastClaimIdle);
  std::vector<OutboxEntry> claimed = read_now(survivor.outbox());
  REQUIRE(claimed.size() == 3);
  std::set<std::string> seen;
  std::vector<std::string> ids;
  for (const OutboxEntry& entry : claimed) {
    CHECK(entry.deliveries == 2);
    seen.insert(entry.event.request_id);
    ids.push_back(entry.id);
  }
  CHECK(seen == admitted);

  REQUIRE(survivor.outbox().ack(ids).is_ok());
  OutboxStats stats;
  REQUIRE(survivor.outbox().stats(&stats).is_ok());
  CHECK(stats.pending == 0);
  CHECK(stats.dead_lettered == 0);
  Client client(server);
  CHECK(client.integer({"XLEN", kStream}) == 0);  // acked entries leave the stream
  std::this_thread::sleep_for(kPastClaimIdle);
  CHECK(read_now(survivor.outbox()).empty());
}

TEST_CASE(
    "an entry that keeps failing lands in the dead-letter stream after N "
    "deliveries",
    "[redis][outbox]") {
  RedisServer server;
  Stages stages(server);  // outbox.max.deliveries = 3
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(product, 10)).is_ok());
  OrderEvent event = make_event(product, 1);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());

  for (std::uint32_t delivery = 1; delivery <= 3; ++delivery) {
    std::vector<OutboxEntry> entries = read_now(stages.outbox());
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].deliveries == delivery);
    std::this_thread::sleep_for(kPastClaimIdle);  // the relay fails: no ack
  }
  CHECK(read_now(stages.outbox()).empty());
  OutboxStats stats;
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.dead_lettered == 1);
  CHECK(stats.pending == 0);

  Client client(server);
  auto dead = client.run({"XRANGE", std::string(kStream) + ":dead", "-", "+"});
  REQUIRE(dead->elements == 1);
  std::map<std::string, std::string> fields;
  const redisReply* list = dead->element[0]->element[1];
  for (std::size_t i = 0; i + 1 < list->elements; i += 2) fields[list->element[i]->str] = list->element[i + 1]->str;
  OrderEvent dead_event;
  std::string error;
  REQUIRE(decode_event(fields["event"], &dead_event, &error));
  CHECK(dead_event.request_id == event.request_id);
  CHECK(fields.count("origin_id") == 1);
  CHECK(fields["reason"] == "delivered 3 times without an ack");
  CHECK(fields["deliveries"] == "3");
  CHECK(client.integer({"XLEN", kStream}) == 0);
}

TEST_CASE("an undecodable entry is dead-lettered and counted, never dropped", "[redis][outbox]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  client.run({"XADD", kStream, "*", "request_id", "r1", "quantity", "many"});
  CHECK(read_now(stages.outbox()).empty());
  OutboxStats stats;
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.dead_lettered == 1);
  CHECK(stats.pending == 0);
}

TEST_CASE("an admitted entry is the event in the wire form of event_codec.h", "[redis][outbox]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 7, 2);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  auto range = client.run({"XRANGE", kStream, "-", "+"});
  REQUIRE(range->elements == 1);
  const redisReply* fields = range->element[0]->element[1];
  REQUIRE(fields->elements == 2);
  CHECK(std::string(fields->element[0]->str) == "event");
  CHECK(std::string(fields->element[1]->str) == encode_event(event));

  std::vector<OutboxEntry> entries = read_now(stages.outbox());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].event.request_id == event.request_id);
  CHECK(entries[0].event.quantity == 2);
}

TEST_CASE("an entry of the six fields older versions append is read all the same", "[redis][outbox]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  client.run({"XADD", kStream, "*", "request_id", "r1", "user_id", "7", "product_id", "3", "quantity", "2",
              "unit_price", "1999", "accepted_ms", "1700000000000"});
  std::vector<OutboxEntry> entries = read_now(stages.outbox());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].event.request_id == "r1");
  CHECK(entries[0].event.user_id == 7);
  CHECK(entries[0].event.product_id == 3);
  CHECK(entries[0].event.quantity == 2);
  CHECK(entries[0].event.unit_price == 1999);
  CHECK(entries[0].event.accepted_ms == 1700000000000);
}

TEST_CASE("an entry whose event does not decode is dead-lettered with the reason", "[redis][outbox]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  client.run({"XADD", kStream, "*", "request_id", "r1", "event", "{\"v\":1"});
  CHECK(read_now(stages.outbox()).empty());
  std::vector<DeadLetter> letters;
  REQUIRE(stages.outbox().list_dead_letters("", 10, &letters).is_ok());
  REQUIRE(letters.size() == 1);
  CHECK_FALSE(letters[0].decoded);
  CHECK(letters[0].reason.find("event") != std::string::npos);
}

TEST_CASE("ack ignores unknown ids and never removes an undelivered entry", "[redis][outbox]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), ""}).status.is_ok());
  std::string undelivered = client.run({"XRANGE", kStream, "-", "+"})->element[0]->element[0]->str;

  REQUIRE(stages.outbox().ack({"not-an-id", "1-1", undelivered}).is_ok());
  CHECK(client.integer({"XLEN", kStream}) == 1);
  std::vector<OutboxEntry> entries = read_now(stages.outbox());
  REQUIRE(entries.size() == 1);
  OutboxStats stats;
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.pending == 1);
  REQUIRE(stages.outbox().ack({entries[0].id}).is_ok());
  REQUIRE(stages.outbox().ack({entries[0].id}).is_ok());  // a late second ack is harmless
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.pending == 0);
}

TEST_CASE("ack removes relayed entries only: nothing pending or undelivered leaves the stream", "[redis][outbox]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  for (UserId user = 1; user <= 5; ++user) {
    REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, user), ""}).status.is_ok());
  }
  std::vector<OutboxEntry> delivered = read_now(stages.outbox(), 3);
  REQUIRE(delivered.size() == 3);

  REQUIRE(stages.outbox().ack({delivered[1].id}).is_ok());
  CHECK(client.integer({"XLEN", kStream}) == 5);  // the oldest is still pending: nothing moves
  REQUIRE(stages.outbox().ack({delivered[0].id}).is_ok());
  CHECK(client.integer({"XLEN", kStream}) == 3);  // the two acked ones go, the pending third stays
  REQUIRE(stages.outbox().ack({delivered[2].id}).is_ok());
  CHECK(client.integer({"XLEN", kStream}) == 2);  // the two never delivered stay

  std::vector<OutboxEntry> rest = read_now(stages.outbox());
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].deliveries == 1);
  REQUIRE(stages.outbox().ack({rest[0].id, rest[1].id}).is_ok());
  CHECK(client.integer({"XLEN", kStream}) == 0);
}

TEST_CASE("read waits up to `wait` for a new entry", "[redis][outbox]") {
  RedisServer server;
  Stages stages(server);
  auto started = std::chrono::steady_clock::now();
  std::vector<OutboxEntry> entries;
  REQUIRE(stages.outbox().read(10, std::chrono::milliseconds(200), &entries).is_ok());
  CHECK(entries.empty());
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(180));
}


namespace {

// An entry of several events, as one admit.lua call appends it for a batch;
// returns its stream id.
std::string append_batch(Client& client, const std::vector<OrderEvent>& events) {
  std::vector<std::string> argv{"XADD", kStream, "*"};
  for (const OrderEvent& event : events) argv.insert(argv.end(), {"event", encode_event(event)});
  return client.text(argv);
}

std::vector<OrderEvent> three_events() {
  ProductId product = fresh_product();
  return {make_event(product, 1), make_event(product, 2), make_event(product, 3)};
}

// Every entry acknowledged and trimmed away.
void check_all_acked(Outbox& outbox, Client& client) {
  OutboxStats stats;
  REQUIRE(outbox.stats(&stats).is_ok());
  CHECK(stats.pending == 0);
  CHECK(client.integer({"XLEN", kStream}) == 0);
}

// Reads until something comes (a claim comes only after the claim time).
std::vector<OutboxEntry> read_within(Outbox& outbox, std::chrono::seconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<OutboxEntry> entries;
  while (entries.empty() && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(outbox.read(100, std::chrono::milliseconds(20), &entries).is_ok());
  }
  return entries;
}

}  // namespace

TEST_CASE("an entry of several events hands each out and is acknowledged once each was", "[redis][outbox][batch]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  std::vector<OrderEvent> events = three_events();
  std::string id = append_batch(client, events);

  std::vector<OutboxEntry> entries = read_now(stages.outbox());
  REQUIRE(entries.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(entries[i].id == id + "#" + std::to_string(i));
    CHECK(entries[i].event.request_id == events[i].request_id);
    CHECK(entries[i].deliveries == 1);
  }
  OutboxStats stats;
  REQUIRE(stages.outbox().ack({entries[0].id, entries[2].id}).is_ok());
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.pending == 1);  // the entry waits for its second event
  CHECK(client.integer({"XLEN", kStream}) == 1);
  REQUIRE(stages.outbox().ack({entries[1].id, id + "#7", id + "#x"}).is_ok());  // the last two are unknown: ignored
  check_all_acked(stages.outbox(), client);
}

TEST_CASE("a read hands out at most max events and keeps the rest of an entry for the next read",
          "[redis][outbox][batch]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  std::vector<OrderEvent> events = three_events();
  append_batch(client, events);
  std::vector<OutboxEntry> first = read_now(stages.outbox(), 2);
  REQUIRE(first.size() == 2);
  std::vector<OutboxEntry> second = read_now(stages.outbox(), 2);
  REQUIRE(second.size() == 1);
  CHECK(second[0].event.request_id == events[2].request_id);
  REQUIRE(stages.outbox().ack({first[0].id, first[1].id, second[0].id}).is_ok());
  check_all_acked(stages.outbox(), client);
}

TEST_CASE("an entry of several events acknowledged in part is handed out again, and acknowledged once the rest is",
          "[redis][outbox][batch]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  append_batch(client, three_events());
  std::vector<OutboxEntry> entries = read_now(stages.outbox());
  REQUIRE(entries.size() == 3);
  REQUIRE(stages.outbox().ack({entries[0].id}).is_ok());  // the relay failed the other two

  std::vector<OutboxEntry> again = read_within(stages.outbox());
  REQUIRE(again.size() == 3);  // the entry whole, once its claim time passed
  CHECK(again[1].deliveries == 2);
  REQUIRE(stages.outbox().ack({again[1].id, again[2].id}).is_ok());
  check_all_acked(stages.outbox(), client);
}

TEST_CASE("an entry of several events delivered too often becomes one dead letter per event, each replayed alone",
          "[redis][outbox][batch]") {
  RedisServer server;
  Stages stages(server);  // outbox.max.deliveries = 3
  Client client(server);
  std::vector<OrderEvent> events = three_events();
  append_batch(client, events);
  for (std::uint32_t delivery = 1; delivery <= 3; ++delivery) {
    std::vector<OutboxEntry> entries = read_within(stages.outbox());
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].deliveries == delivery);
  }
  OutboxStats stats;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    CHECK(read_now(stages.outbox()).empty());
    REQUIRE(stages.outbox().stats(&stats).is_ok());
  } while (stats.dead_lettered < 3 && std::chrono::steady_clock::now() < deadline);
  CHECK(stats.dead_lettered == 3);
  CHECK(stats.pending == 0);
  CHECK(client.integer({"XLEN", kStream}) == 0);

  std::vector<DeadLetter> letters;
  REQUIRE(stages.outbox().list_dead_letters("", 10, &letters).is_ok());
  REQUIRE(letters.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(letters[i].decoded);
    CHECK(letters[i].event.request_id == events[i].request_id);
    CHECK(letters[i].reason == "delivered 3 times without an ack");
  }
  REQUIRE(stages.outbox().replay_dead_letter(letters[1].id).is_ok());
  std::vector<OutboxEntry> replayed = read_now(stages.outbox());
  REQUIRE(replayed.size() == 1);
  CHECK(replayed[0].event.request_id == events[1].request_id);
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.dead_lettered == 2);
}

TEST_CASE("an entry of several events with one that does not decode becomes one dead letter per event",
          "[redis][outbox][batch]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  OrderEvent good = make_event(fresh_product(), 1);
  client.run({"XADD", kStream, "*", "event", encode_event(good), "event", "{\"v\":1"});
  CHECK(read_now(stages.outbox()).empty());
  std::vector<DeadLetter> letters;
  REQUIRE(stages.outbox().list_dead_letters("", 10, &letters).is_ok());
  REQUIRE(letters.size() == 2);
  CHECK(letters[0].decoded);
  CHECK(letters[0].event.request_id == good.request_id);
  CHECK_FALSE(letters[1].decoded);
  CHECK(letters[1].reason.find("event field 2") != std::string::npos);
  CHECK(client.integer({"XLEN", kStream}) == 0);
}

}  // namespace flashsale::redis::test
