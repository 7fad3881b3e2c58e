// The relay worker against hand-made stages: an entry is acked only once the
// relay reports its event delivered, and an event the relay did not take is
// published again, whole, by the same worker.
#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <thread>

#include "support/stage_fakes.h"
#include "workers/relay_worker.h"

namespace flashsale {

namespace {

using namespace std::chrono_literals;

OrderEvent event(int n) {
  return OrderEvent{"req-" + std::to_string(n), 1000 + n, 7, 1 + n % 3, 100 + n, 5000 + n};
}

class FakeOutbox final : public test::OutboxFake {
 public:
  explicit FakeOutbox(int count) {
    for (int i = 0; i < count; ++i) entries_.push_back(OutboxEntry{"e" + std::to_string(i), event(i), 1});
  }
  Status read(std::size_t max, std::chrono::milliseconds, std::vector<OutboxEntry>* out) noexcept override {
    std::lock_guard lock(mutex_);
    for (; next_ < entries_.size() && max > 0; ++next_, --max) out->push_back(entries_[next_]);
    return Status::ok();
  }
  Status ack(const std::vector<std::string>& ids) noexcept override {
    std::lock_guard lock(mutex_);
    acked_.insert(acked_.end(), ids.begin(), ids.end());
    return Status::ok();
  }
  Status stats(OutboxStats*) noexcept override { return Status::ok(); }
  std::vector<std::string> acked() {
    std::lock_guard lock(mutex_);
    return acked_;
  }

 private:
  std::mutex mutex_;
  std::vector<OutboxEntry> entries_;
  std::size_t next_ = 0;
  std::vector<std::string> acked_;
};

// The first publish takes only the events at even positions and fails; later
// ones take everything. Every call's events are kept as they arrived.
class HalfRelay final : public test::RelayFake {
 public:
  Status publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered) noexcept override {
    std::lock_guard lock(mutex_);
    calls_.push_back(events);
    delivered->assign(events.size(), true);
    if (calls_.size() > 1) return Status::ok();
    for (std::size_t i = 1; i < events.size(); i += 2) (*delivered)[i] = false;
    return Status(Code::unavailable, "broker dropped half");
  }
  Status poll(std::size_t, std::chrono::milliseconds, std::vector<OrderEvent>*) noexcept override {
    return Status::ok();
  }
  Status commit() noexcept override { return Status::ok(); }
  std::vector<std::vector<OrderEvent>> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<OrderEvent>> calls_;
};

bool same(const OrderEvent& a, const OrderEvent& b) {
  return a.request_id == b.request_id && a.user_id == b.user_id && a.product_id == b.product_id &&
         a.quantity == b.quantity && a.unit_price == b.unit_price && a.accepted_ms == b.accepted_ms;
}

template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("relay worker: undelivered events are published again, whole, and only delivered ones are acked",
          "[worker]") {
  auto outbox = std::make_shared<FakeOutbox>(6);
  auto relay = std::make_shared<HalfRelay>();
  Counters counters;
  RelayWorker worker(outbox, relay, 256, 0ms, &counters);
  worker.start();
  REQUIRE(eventually([&] { return outbox->acked().size() == 6; }));
  worker.drain_and_stop(1000ms);

  std::vector<std::vector<OrderEvent>> calls = relay->calls();
  REQUIRE(calls.size() == 2);
  REQUIRE(calls[0].size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(same(calls[0][i], event(i)));
  // The retry carries the odd ones, every field as read from the outbox.
  REQUIRE(calls[1].size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(same(calls[1][i], event(2 * i + 1)));
  CHECK(outbox->acked() == std::vector<std::string>{"e0", "e2", "e4", "e1", "e3", "e5"});
  CHECK(counters.relayed.load() == 6);
  CHECK(counters.relay_retries.load() == 3);
}

}  // namespace flashsale
