// The default profile end to end: Redis + Kafka (dev broker) + SQLite, with
// faults injected where a real deployment meets them.
#include <catch2/catch.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "integration/stack_fixture.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;
using namespace std::chrono_literals;

namespace {

void stampede_on(Persist persist) {
  Stack stack(persist);
  auto server = stack.server("api,relay,consumer");
  HttpClient admin(server->port());
  long long product = create_product(admin, 200);
  preload(admin, product);
  StampedeResult run = stampede(server->port(), product, 5000, 50);
  REQUIRE(run.accepted.size() == 200);
  CHECK(run.rejected == std::map<std::string, int>{{"409 sold_out", 4800}});
  check_sale(admin, stack, product, run, 200);
  CHECK(server->stop() == 0);
}

}  // namespace

TEST_CASE("default stack: 5,000 buyers on stock 200 make exactly 200 orders", "[e2e][stack]") {
  stampede_on(Persist::sqlite);
}

TEST_CASE("default stack on postgres: 5,000 buyers on stock 200 make exactly 200 orders", "[e2e][stack][postgres]") {
  stampede_on(Persist::postgres);
}

TEST_CASE("default stack: two processes with roles split (api+relay, consumer) pass the same test", "[e2e][stack]") {
  Stack stack;
  auto api = stack.server("api,relay");
  auto consumer = stack.server("consumer");
  HttpClient admin(api->port());
  long long product = create_product(admin, 200);
  preload(admin, product);
  StampedeResult run = stampede(api->port(), product, 5000, 50);
  REQUIRE(run.accepted.size() == 200);
  check_sale(admin, stack, product, run, 200);
  CHECK(api->stop() == 0);
  CHECK(consumer->stop() == 0);
}

namespace {

// Buyers arriving continuously until `stop`, 4 connections.
struct SteadyBuyers {
  std::atomic<bool> stop{false};
  std::mutex mutex;
  StampedeResult result;
  std::atomic<long long> next_user{1};
  std::vector<std::thread> threads;

  SteadyBuyers(int port, long long product) {
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([this, port, product] {
        HttpClient client(port);
        while (!stop) {
          HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, next_user++));
          std::lock_guard lock(mutex);
          if (reply.status == 202)
            result.accepted.push_back(reply.str("request_id"));
          else
            result.rejected[std::to_string(reply.status) + " " + reply.error_code()]++;
          std::this_thread::sleep_for(2ms);
        }
      });
    }
  }
  StampedeResult finish() {
    stop = true;
    for (auto& t : threads) t.join();
    return result;
  }
};

}  // namespace

// Buyers keep coming while `fault` runs against the broker; afterwards every
// accepted request must be final and success, with exactly one order each.
template <typename Fault>
void run_through_fault(Fault fault) {
  Stack stack;
  auto server = stack.server("api,relay,consumer");
  HttpClient admin(server->port());
  long long product = create_product(admin, 100000);
  preload(admin, product);
  SteadyBuyers buyers(server->port(), product);
  std::this_thread::sleep_for(1s);
  fault(stack.broker());
  std::this_thread::sleep_for(1s);
  StampedeResult run = buyers.finish();
  CHECK(run.rejected.empty());  // admission never needs the broker
  auto finals = poll_final(admin, run.accepted, 120000);
  CHECK(finals.size() == run.accepted.size());
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  std::string db = stack.db_path();
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM orders") == static_cast<long long>(run.accepted.size()));
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM order_requests") == static_cast<long long>(run.accepted.size()));
  CHECK(server->stop() == 0);
}

TEST_CASE("default stack: the broker down for seconds mid-run loses no accepted request", "[e2e][stack]") {
  run_through_fault([](flashsale::DevBroker& broker) {
    broker.set_down(1);
    std::this_thread::sleep_for(4s);  // buying goes on: the outbox holds the events
    broker.set_up(1);
  });
}

TEST_CASE("default stack: injected produce errors are retried with no loss and no duplicate order", "[e2e][stack]") {
  run_through_fault([](flashsale::DevBroker& broker) {
    broker.push_request_errors(0 /* Produce */, 20, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    std::this_thread::sleep_for(1s);
    broker.push_request_errors(0, 5, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  });
}

namespace {

void consumer_killed_before_offset_commit(Persist persist) {
  Stack stack(persist);
  auto api = stack.server("api,relay");
  HttpClient admin(api->port());
  long long product = create_product(admin, 1000);
  preload(admin, product);
  StampedeResult run = stampede(api->port(), product, 300, 10);
  REQUIRE(run.accepted.size() == 300);

  // The first consumer persists and notifies its first batch, then dies before committing.
  auto doomed = stack.server("consumer", {{"FAULT_CRASH_BEFORE_COMMIT", "1"}});
  int code = -1;
  for (int i = 0; i < 600 && code < 0; ++i) {
    if (stack.scalar("SELECT COUNT(*) FROM orders") > 0)
      code = doomed->stop_when_exited(30000);
    else
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(code == 86);  // it died at the failpoint
  long long written_before_crash = stack.scalar("SELECT COUNT(*) FROM orders");
  REQUIRE(written_before_crash > 0);

  // Its successor gets the uncommitted batch again: persisted twice, ordered once.
  auto consumer = stack.server("api,consumer");
  auto finals = poll_final(admin, run.accepted, 120000);
  REQUIRE(finals.size() == run.accepted.size());
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  HttpClient consumer_admin(consumer->port());
  HttpReply health = consumer_admin.get("/healthz");
  long long persisted = health.json->getObject("counters")->getValue<long long>("persisted");
  CHECK(persisted >= 300);  // it re-persisted what the dead consumer had written
  CHECK(stack.scalar("SELECT COUNT(*) FROM orders") == 300);
  CHECK(stack.scalar("SELECT COUNT(DISTINCT request_id) FROM orders") == 300);
  CHECK(api->stop() == 0);
  CHECK(consumer->stop() == 0);
}

}  // namespace

TEST_CASE("default stack: a consumer killed between DB commit and offset commit creates no second order",
          "[e2e][stack]") {
  consumer_killed_before_offset_commit(Persist::sqlite);
}

TEST_CASE("default stack on postgres: a consumer killed between DB commit and offset commit creates no second order",
          "[e2e][stack][postgres]") {
  consumer_killed_before_offset_commit(Persist::postgres);
}

TEST_CASE("default stack: /readyz names the broker while it is down", "[e2e][stack]") {
  Stack stack;
  auto server = stack.server("api,relay,consumer");
  HttpClient client(server->port());
  HttpReply ready = client.get("/readyz");
  INFO(ready.body);
  CHECK(ready.status == 200);
  for (const char* family : {"redis", "kafka", "sqlite"}) {
    CHECK(ready.json->getObject("backends")->getObject(family)->getValue<bool>("ready"));
  }

  stack.broker().set_down(1);
  HttpReply down = client.get("/readyz");
  INFO(down.body);
  CHECK(down.status == 503);
  CHECK_THAT(down.json->getObject("error")->getValue<std::string>("message"), Catch::StartsWith("kafka (relay): "));
  CHECK(down.json->getObject("backends")->getObject("redis")->getValue<bool>("ready"));

  stack.broker().set_up(1);
  HttpReply back = client.get("/readyz");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (back.status != 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    back = client.get("/readyz");
  }
  CHECK(back.status == 200);
  CHECK(server->stop() == 0);
}

TEST_CASE("default stack on postgres: two consumer processes each given every event make one order per request",
          "[e2e][stack][postgres]") {
  Stack stack(Persist::postgres);
  auto api = stack.server("api,relay");
  HttpClient admin(api->port());
  long long product = create_product(admin, 400);
  preload(admin, product);
  // Two Kafka consumer groups: each process gets the whole topic, so every
  // event reaches the database twice, from two processes at once.
  // (api too, for their /healthz counters.)
  auto first = stack.server("api,consumer", {{"KAFKA_GROUP_ID", "group-a"}});
  auto second = stack.server("api,consumer", {{"KAFKA_GROUP_ID", "group-b"}});
  StampedeResult run = stampede(api->port(), product, 1000, 20);
  REQUIRE(run.accepted.size() == 400);
  check_sale(admin, stack, product, run, 400);
  for (ServerProcess* consumer : {first.get(), second.get()}) {
    HttpClient client(consumer->port());
    long long persisted = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (persisted < 400 && std::chrono::steady_clock::now() < deadline) {
      persisted = client.get("/healthz").json->getObject("counters")->getValue<long long>("persisted");
      if (persisted < 400) std::this_thread::sleep_for(50ms);
    }
    CHECK(persisted >= 400);  // each process persisted every event
  }
  CHECK(stack.scalar("SELECT COUNT(*) FROM failed_requests") == 0);
  CHECK(stack.scalar("SELECT orders FROM product_sales WHERE product_id = " + std::to_string(product)) == 400);
  CHECK(api->stop() == 0);
  CHECK(first->stop() == 0);
  CHECK(second->stop() == 0);
}
