// The consumer worker against hand-made stages: it commits the relay only
// once every event of the batch is persisted and finished, retries a batch
// whose notify failed (or claimed success without recording everything), and
// with a linger takes a partial batch's late arrivals into the same batch.
// An event persist refuses for good is narrowed down and rejected to the
// relay until the relay dead-letters it; an outage is never rejected.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "support/stage_fakes.h"
#include "workers/consumer_worker.h"

namespace flashsale {

namespace {

using namespace std::chrono_literals;

OrderEvent event(int n) {
  return OrderEvent{"req-" + std::to_string(n), 1000 + n, 7, 1, 100, 0};
}

// A relay log: poll hands out from a read position, commit records how far.
class FakeRelay final : public test::RelayFake {
 public:
  void add(const OrderEvent& e) {
    std::lock_guard lock(mutex_);
    log_.push_back(e);
  }
  Status publish(const std::vector<OrderEvent>&, std::vector<bool>*) noexcept override { return Status::ok(); }
  Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out) noexcept override {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (read_ < log_.size() || std::chrono::steady_clock::now() >= deadline) {
          std::size_t polled = 0;
          for (; read_ < log_.size() && polled < max; ++read_, ++polled) out->push_back(log_[read_]);
          if (polled > 0) polls_.push_back(polled);
          return Status::ok();
        }
      }
      std::this_thread::sleep_for(1ms);
    }
  }
  Status commit() noexcept override {
    std::lock_guard lock(mutex_);
    committed_ = read_;
    return Status::ok();
  }
  // Dead-letters an event on its third rejection.
  Status reject(const OrderEvent& event, const std::string& reason, bool* dead_lettered) noexcept override {
    std::lock_guard lock(mutex_);
    *dead_lettered = ++rejections_[event.request_id] == 3;
    if (*dead_lettered) dead_reasons_[event.request_id] = reason;
    return Status::ok();
  }
  std::map<std::string, int> rejections() {
    std::lock_guard lock(mutex_);
    return rejections_;
  }
  std::map<std::string, std::string> dead_reasons() {
    std::lock_guard lock(mutex_);
    return dead_reasons_;
  }
  std::size_t committed() {
    std::lock_guard lock(mutex_);
    return committed_;
  }
  std::vector<std::size_t> polls() {
    std::lock_guard lock(mutex_);
    return polls_;
  }

 private:
  std::mutex mutex_;
  std::vector<OrderEvent> log_;
  std::size_t read_ = 0, committed_ = 0;
  std::vector<std::size_t> polls_;  // events per poll that returned any
  std::map<std::string, int> rejections_;
  std::map<std::string, std::string> dead_reasons_;
};

class FakeStore final : public test::OrderStoreFake {
 public:
  std::atomic<bool> down{false};  // persist answers unavailable
  std::string refused;            // a batch with this request_id fails for good

  Status persist(const std::vector<OrderEvent>& events, std::int64_t, std::vector<PersistResult>* results) noexcept override {
    if (down) return Status(Code::unavailable, "down");
    for (const OrderEvent& e : events) {
      if (e.request_id == refused) return Status(Code::internal, "constraint failed");
    }
    results->assign(events.size(), PersistResult{RequestStatus::success, {}, 1});
    std::lock_guard lock(mutex_);
    batches_.push_back(events.size());
    return Status::ok();
  }
  std::vector<std::size_t> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::size_t> batches_;  // events per persist call
};

// Records finishes; `lie` answers ok while leaving the last event unrecorded,
// `fail` answers unavailable.
class FakeNotifier final : public Notifier {
 public:
  std::atomic<bool> lie{false}, fail{false};
  std::atomic<int> recorded{0};

  Status finish(const OrderEvent&, const PersistResult&) noexcept override {
    if (fail) return Status(Code::unavailable, "down");
    ++recorded;
    return Status::ok();
  }
  Status finish_all(const std::vector<OrderEvent>& events, const std::vector<PersistResult>& results,
                    std::vector<bool>* finished) noexcept override {
    if (!lie) return Notifier::finish_all(events, results, finished);
    for (std::size_t i = 0; i + 1 < events.size(); ++i) (*finished)[i] = true;
    return Status::ok();
  }
  Status lookup(const std::string&, RequestState*) noexcept override { return Status(Code::not_found, ""); }
  Status backfill(const RequestState&) noexcept override { return Status::ok(); }
};

struct Rig {
  std::shared_ptr<FakeRelay> relay = std::make_shared<FakeRelay>();
  std::shared_ptr<FakeNotifier> notifier = std::make_shared<FakeNotifier>();
  std::shared_ptr<FakeStore> store = std::make_shared<FakeStore>();
  Counters counters;
  std::unique_ptr<ConsumerWorker> worker;

  explicit Rig(std::chrono::milliseconds linger = 0ms) {
    worker = std::make_unique<ConsumerWorker>(relay, store, notifier, 256, linger, std::chrono::minutes(15), &counters);
  }

  template <typename Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
};

}  // namespace

TEST_CASE("consumer worker: a batch is committed only once every final state is recorded", "[worker]") {
  Rig rig;
  for (int i = 0; i < 3; ++i) rig.relay->add(event(i));
  rig.notifier->fail = true;
  rig.worker->start();
  REQUIRE(Rig::eventually([&] { return rig.counters.worker_errors.load() >= 2; }));
  CHECK(rig.relay->committed() == 0);  // notify is down: nothing committed, the batch is retried

  rig.notifier->fail = false;
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 3; }));
  CHECK(rig.counters.persisted.load() == 3);  // persisted once, not per retry
  CHECK(rig.counters.finished_success.load() == 3);
  // Each finished event is timed once, however often its batch was retried.
  flashsale::LatencyHistogram::Counts counts = rig.counters.accepted_to_final.counts();
  std::uint64_t timed = 0;
  for (std::uint64_t c : counts) timed += c;
  CHECK(timed == 3);
  rig.worker->drain_and_stop(1000ms);
}

TEST_CASE("consumer worker: a notifier that claims success but leaves events unrecorded gets no commit", "[worker]") {
  Rig rig;
  for (int i = 0; i < 4; ++i) rig.relay->add(event(i));
  rig.notifier->lie = true;
  rig.worker->start();
  REQUIRE(Rig::eventually([&] { return rig.counters.worker_errors.load() >= 1; }));
  CHECK(rig.relay->committed() == 0);
  rig.notifier->lie = false;
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 4; }));
  CHECK(rig.counters.finished_success.load() == 4);  // each counted once
  rig.worker->drain_and_stop(1000ms);
}

TEST_CASE("consumer worker: without a linger, a partial poll is processed at once", "[worker]") {
  Rig rig;
  rig.relay->add(event(0));
  rig.worker->start();
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 1; }));
  for (int i = 1; i < 5; ++i) rig.relay->add(event(i));
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 5; }));
  CHECK(rig.store->batches() == std::vector<std::size_t>{1, 4});
  rig.worker->drain_and_stop(1000ms);
}

TEST_CASE("consumer worker: with a linger, events that arrive just after a partial poll join its batch", "[worker]") {
  Rig rig(200ms);
  rig.relay->add(event(0));
  rig.worker->start();
  std::this_thread::sleep_for(20ms);  // the worker has polled the first event and lingers
  for (int i = 1; i < 5; ++i) rig.relay->add(event(i));
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 5; }));
  CHECK(rig.store->batches() == std::vector<std::size_t>{5});  // one batch, one transaction
  CHECK(rig.notifier->recorded.load() == 5);
  rig.worker->drain_and_stop(1000ms);
}

}  // namespace flashsale

namespace flashsale {

TEST_CASE("consumer worker: an event persist refuses for good is dead-lettered and the rest goes on", "[worker]") {
  Rig rig;
  rig.store->refused = "req-1";
  for (int i = 0; i < 3; ++i) rig.relay->add(event(i));
  rig.worker->start();
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 3; }));
  rig.worker->drain_and_stop(1s);
  CHECK(rig.relay->rejections() == std::map<std::string, int>{{"req-1", 3}});
  CHECK(rig.relay->dead_reasons() == std::map<std::string, std::string>{{"req-1", "internal: constraint failed"}});
  CHECK(rig.notifier->recorded == 2);  // the dead-lettered request stays pending
  CHECK(rig.counters.persisted == 2);
}

TEST_CASE("consumer worker: an outage is retried and never rejected", "[worker]") {
  Rig rig;
  rig.store->down = true;
  for (int i = 0; i < 2; ++i) rig.relay->add(event(i));
  rig.worker->start();
  REQUIRE(Rig::eventually([&] { return rig.counters.worker_errors.load() >= 4; }));
  CHECK(rig.relay->committed() == 0);
  rig.store->down = false;
  REQUIRE(Rig::eventually([&] { return rig.relay->committed() == 2; }));
  rig.worker->drain_and_stop(1s);
  CHECK(rig.relay->rejections().empty());
  CHECK(rig.notifier->recorded == 2);
}

}  // namespace flashsale
