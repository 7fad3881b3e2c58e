// The group commit of admit_batches.h with a fake batch runner: buyers who
// arrive while a batch is in flight go together in the next one, up to the
// bound, one tag per batch, and every buyer gets the result of the batch that
// carried it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "redis/admit_batches.h"

namespace flashsale::redis::test {

namespace {

// Waits up to 30 s for `done`.
template <typename Predicate>
bool eventually(Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("admit batches: buyers queued behind a batch in flight go together, up to the bound, one tag each",
          "[redis][admit][batch]") {
  constexpr std::size_t kBound = 4;
  std::mutex mutex;
  std::condition_variable released_changed;
  bool released = false;                          // the first batch is held in flight until then
  std::vector<std::vector<std::string>> batches;  // the request ids of each batch, in order
  std::atomic<bool> mixed_tags{false};
  AdmitBatches admit_batches(kBound, [&](const std::string& tag, const std::vector<BatchedBuyer*>& batch) {
    std::unique_lock<std::mutex> lock(mutex);
    bool first = batches.empty();
    batches.emplace_back();
    for (BatchedBuyer* buyer : batch) {
      if (buyer->tag != tag) mixed_tags = true;
      batches.back().push_back(buyer->args[0]);
      buyer->result = AdmitResult{Status::ok(), buyer->args[0] + "@" + std::to_string(batches.size()), false};
    }
    if (first) released_changed.wait(lock, [&] { return released; });
  });

  auto buy = [&](const std::string& tag, const std::string& id, AdmitResult* out) {
    BatchedBuyer buyer;
    buyer.tag = tag;
    buyer.args[0] = id;
    admit_batches.admit(&buyer);
    *out = buyer.result;
  };
  std::vector<AdmitResult> results(10);
  std::vector<std::thread> threads;
  threads.emplace_back(buy, "p:1", "b0", &results[0]);
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return batches.size() == 1;
  }));
  // Nine more of the same tag while the first batch is in flight.
  for (int i = 1; i < 10; ++i) threads.emplace_back(buy, "p:1", "b" + std::to_string(i), &results[i]);
  REQUIRE(eventually([&] { return admit_batches.waiting() == 9; }));
  {
    std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  released_changed.notify_all();
  for (std::thread& thread : threads) thread.join();

  CHECK_FALSE(mixed_tags);
  REQUIRE(batches.size() == 4);  // 1, then the nine waiting ones in 4 + 4 + 1
  CHECK(batches[0] == std::vector<std::string>{"b0"});
  CHECK(batches[1].size() == kBound);
  CHECK(batches[2].size() == kBound);
  CHECK(batches[3].size() == 1);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(results[i].status.is_ok());
    std::string id = "b" + std::to_string(i);
    std::size_t carried = 0;
    for (std::size_t b = 0; b < batches.size(); ++b) {
      for (const std::string& in : batches[b]) {
        if (in == id) carried = b + 1;
      }
    }
    CHECK(results[i].request_id == id + "@" + std::to_string(carried));
  }
  CHECK(admit_batches.waiting() == 0);
}

TEST_CASE("admit batches: buyers of different tags never share a batch", "[redis][admit][batch]") {
  std::atomic<bool> mixed_tags{false};
  std::atomic<int> carried{0};
  AdmitBatches admit_batches(64, [&](const std::string& tag, const std::vector<BatchedBuyer*>& batch) {
    for (BatchedBuyer* buyer : batch) {
      if (buyer->tag != tag) mixed_tags = true;
      buyer->result = AdmitResult{Status::ok(), tag, false};
      ++carried;
    }
  });
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 50; ++round) {
        BatchedBuyer buyer;
        // More tags than stripes: some share a stripe.
        buyer.tag = "p:" + std::to_string((i * 50 + round) % 200);
        admit_batches.admit(&buyer);
        if (buyer.result.request_id == buyer.tag) ++right;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK_FALSE(mixed_tags);
  CHECK(carried == 32 * 50);
  CHECK(right == 32 * 50);
}

}  // namespace flashsale::redis::test
