// The memory outbox queue beyond the conformance suite: a waiting reader
// wakes on append, and a dead-lettered entry is kept, not dropped.
#include <catch2/catch.hpp>

#include <thread>

#include "memory/outbox_queue.h"

namespace flashsale::memory {

using namespace std::chrono_literals;

TEST_CASE("memory outbox: a waiting reader wakes when an entry is appended", "[memory][outbox]") {
  OutboxQueue queue(30s, 3);
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    queue.append(OrderEvent{"r1", 1, 2, 1, 100, 0});
  });
  auto started = std::chrono::steady_clock::now();
  std::vector<OutboxEntry> read;
  queue.read(10, 10s, &read);
  writer.join();
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  REQUIRE(read.size() == 1);
  CHECK(read[0].event.request_id == "r1");
}

TEST_CASE("memory outbox: a reader waiting on a pending entry wakes when it becomes claimable", "[memory][outbox]") {
  OutboxQueue queue(100ms, 3);
  queue.append(OrderEvent{"r1", 1, 2, 1, 100, 0});
  std::vector<OutboxEntry> read;
  queue.read(10, 0ms, &read);
  REQUIRE(read.size() == 1);
  read.clear();
  queue.read(10, 10s, &read);
  REQUIRE(read.size() == 1);
  CHECK(read[0].deliveries == 2);
}

TEST_CASE("memory outbox: reads honour max, idle entries first", "[memory][outbox]") {
  OutboxQueue queue(1ms, 5);
  for (int i = 0; i < 3; ++i) queue.append(OrderEvent{"r" + std::to_string(i), i, 2, 1, 100, 0});
  std::vector<OutboxEntry> read;
  queue.read(1, 0ms, &read);
  REQUIRE(read.size() == 1);
  std::this_thread::sleep_for(5ms);
  queue.read(2, 0ms, &read);
  REQUIRE(read.size() == 3);
  CHECK(read[1].event.request_id == "r0");  // redelivered before the new r1
  CHECK(read[1].deliveries == 2);
  CHECK(read[2].event.request_id == "r1");
  CHECK(queue.stats().pending == 2);
  queue.ack({read[1].id, read[2].id, "not-an-id", "999"});
  CHECK(queue.stats().pending == 0);
}

TEST_CASE("memory outbox: a dead-lettered entry is kept and counted", "[memory][outbox]") {
  OutboxQueue queue(1ms, 1);
  queue.append(OrderEvent{"r1", 1, 2, 1, 100, 0});
  std::vector<OutboxEntry> read;
  queue.read(10, 0ms, &read);
  REQUIRE(read.size() == 1);
  std::this_thread::sleep_for(5ms);
  read.clear();
  queue.read(10, 20ms, &read);
  CHECK(read.empty());
  CHECK(queue.stats().dead_lettered == 1);
  CHECK(queue.stats().pending == 0);
  std::vector<DeadLetter> dead;
  REQUIRE(queue.list_dead_letters("", 10, &dead).is_ok());
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].event.request_id == "r1");
  CHECK(dead[0].deliveries == 1);
}

}  // namespace flashsale::memory
