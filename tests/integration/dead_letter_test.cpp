// Dead letters through the real server on the default stack (Redis outbox,
// Kafka relay on the dev broker, SQLite): relays that die between publishing
// and acking leave outbox entries pending; a relay allowed one delivery moves
// them aside; an admin lists, inspects and replays them, and every request
// ends final with one order, whether its event had already become an order
// (it reached Kafka before the crash) or not (it went to a topic nobody reads).
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "integration/stack_fixture.h"

using namespace flashsale::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> buy_all(HttpClient& client, long long product, long long first_user, int count) {
  std::vector<std::string> accepted;
  for (long long user = first_user; user < first_user + count; ++user) {
    HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, user));
    REQUIRE(reply.status == 202);
    accepted.push_back(reply.str("request_id"));
  }
  return accepted;
}

// Every outbox dead letter listed, a page of 2 at a time; their request ids.
std::set<std::string> listed_request_ids(HttpClient& admin) {
  std::set<std::string> ids;
  std::string after;
  for (;;) {
    HttpReply page =
        admin.get("/api/admin/dead-letters?source=outbox&limit=2" + (after.empty() ? "" : "&after=" + after), kAdmin);
    REQUIRE(page.status == 200);
    auto letters = page.json->getArray("dead_letters");
    for (std::size_t i = 0; i < letters->size(); ++i) {
      ids.insert(letters->getObject(i)->getObject("event")->getValue<std::string>("request_id"));
    }
    if (!page.json->has("next_after")) return ids;
    after = page.json->getValue<std::string>("next_after");
  }
}

}  // namespace

TEST_CASE("default stack: outbox dead letters are replayed by an admin and every request ends with one order",
          "[e2e][stack]") {
  Stack stack;
  auto api = stack.server("api");  // no relay: the entries wait in the outbox
  HttpClient admin(api->port());
  long long product = create_product(admin, 100);
  preload(admin, product);

  // Published to Kafka, then the relay dies before acking: these become orders.
  std::vector<std::string> ordered = buy_all(admin, product, 1, 3);
  {
    auto doomed = stack.server("relay", {{"FAULT_CRASH_BEFORE_OUTBOX_ACK", "1"}});
    REQUIRE(doomed->stop_when_exited(60000) == 86);
  }
  // Published to a topic nobody consumes, then the same crash: these do not.
  std::vector<std::string> lost = buy_all(admin, product, 4, 3);
  {
    auto doomed = stack.server("relay", {{"FAULT_CRASH_BEFORE_OUTBOX_ACK", "1"}, {"KAFKA_TOPIC", "nobody-reads"}});
    REQUIRE(doomed->stop_when_exited(60000) == 86);
  }
  std::set<std::string> all(ordered.begin(), ordered.end());
  all.insert(lost.begin(), lost.end());

  // A relay allowed one delivery moves every pending entry aside.
  auto worker = stack.server("relay,consumer", {{"OUTBOX_MAX_DELIVERIES", "1"}, {"OUTBOX_CLAIM_IDLE_MS", "300"}});
  std::set<std::string> dead;
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       dead != all && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    dead = listed_request_ids(admin);
  }
  REQUIRE(dead == all);
  for (const auto& [id, reply] : poll_final(admin, ordered)) CHECK(reply.str("status") == "success");
  for (const std::string& id : lost) CHECK(admin.get("/api/flash_sale/result/" + id).str("status") == "pending");

  // Inspect one, replay it, and it is gone; then the rest in one bounded call.
  HttpReply page = admin.get("/api/admin/dead-letters?limit=1", kAdmin);
  REQUIRE(page.status == 200);
  std::string first = page.json->getArray("dead_letters")->getObject(0)->getValue<std::string>("id");
  HttpReply inspected = admin.get("/api/admin/dead-letters/" + first + "?source=outbox", kAdmin);
  REQUIRE(inspected.status == 200);
  CHECK(inspected.json->getObject("dead_letter")->getValue<long long>("deliveries") >= 1);
  CHECK(admin.post("/api/admin/dead-letters/" + first + "/replay?source=outbox", "", kAdmin).status == 200);
  CHECK(admin.post("/api/admin/dead-letters/" + first + "/replay?source=outbox", "", kAdmin).status == 404);
  CHECK(admin.get("/api/admin/dead-letters/" + first + "?source=outbox", kAdmin).status == 404);
  HttpReply rest = admin.post("/api/admin/dead-letters/replay?source=outbox&limit=1000", "", kAdmin);
  REQUIRE(rest.status == 200);
  CHECK(rest.json->getValue<long long>("replayed") == 5);
  CHECK_FALSE(rest.json->getValue<bool>("more"));

  auto finals = poll_final(admin, std::vector<std::string>(all.begin(), all.end()), 60000);
  REQUIRE(finals.size() == all.size());
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  CHECK(listed_request_ids(admin).empty());
  std::string where = " WHERE product_id = " + std::to_string(product);
  CHECK(stack.scalar("SELECT COUNT(*) FROM orders" + where) == 6);
  CHECK(stack.scalar("SELECT COUNT(DISTINCT request_id) FROM orders" + where) == 6);
  HttpReply reconcile = admin.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  CHECK(reconcile.json->getValue<bool>("reconciled"));
  HttpReply relay_side = admin.get("/api/admin/dead-letters?source=relay", kAdmin);
  CHECK(relay_side.status == 200);
  CHECK(worker->stop() == 0);
  CHECK(api->stop() == 0);
}
