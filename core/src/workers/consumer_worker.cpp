#include "workers/consumer_worker.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace flashsale {

ConsumerWorker::ConsumerWorker(std::shared_ptr<Relay> relay, std::shared_ptr<OrderStore> store,
                               std::shared_ptr<Notifier> notifier, std::size_t batch_size, Counters* counters,
                               std::int64_t crash_before_commit)
    : Worker("consumer-worker"),
      relay_(std::move(relay)),
      store_(std::move(store)),
      notifier_(std::move(notifier)),
      batch_size_(batch_size),
      counters_(counters),
      crash_before_commit_(crash_before_commit) {}

ConsumerWorker::~ConsumerWorker() {
  drain_and_stop(std::chrono::milliseconds(0));
}

Worker::Step ConsumerWorker::step() {
  using namespace std::chrono_literals;
  if (batch_.empty()) {
    Status polled = relay_->poll(batch_size_, 200ms, &batch_);
    if (!polled.is_ok()) {
      bump(counters_->worker_errors);
      std::cerr << name() << ": relay poll: " << polled.message() << "\n";
      return batch_.empty() ? Step::failed : Step::worked;
    }
    if (batch_.empty()) return Step::idle;
    results_.clear();
    finished_.assign(batch_.size(), 0);
  }

  if (results_.empty()) {
    Status persisted = store_->persist(batch_, &results_);
    if (!persisted.is_ok() || results_.size() != batch_.size()) {
      results_.clear();
      bump(counters_->worker_errors);
      std::cerr << name() << ": persist: " << persisted.message() << "\n";
      return Step::failed;
    }
    bump(counters_->persisted, batch_.size());
  }

  if (!finish_batch()) return Step::failed;

  if (crash_before_commit_ > 0 && ++commits_ == crash_before_commit_) {
    std::cerr << name() << ": failpoint fault.crash.before.commit: exiting before commit" << std::endl;
    std::_Exit(86);
  }
  Status committed = relay_->commit();
  batch_.clear();
  results_.clear();
  if (!committed.is_ok()) {
    // The batch will be delivered again and come out the same: no retry here.
    std::cerr << name() << ": relay commit: " << committed.message() << "\n";
    return Step::failed;
  }
  return Step::worked;
}

bool ConsumerWorker::finish_batch() {
  // Each notify is a round trip to its backend; a few run side by side so the
  // async path drains at least as fast as admission accepts. Events of one
  // batch are distinct requests (a redelivered duplicate is harmless: finish
  // is idempotent and compensates at most once).
  std::size_t open = 0;
  for (char done : finished_) open += done ? 0 : 1;
  std::size_t lanes = std::min<std::size_t>(kNotifyLanes, (open + 31) / 32);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto lane = [&] {
    for (std::size_t i = next++; i < batch_.size() && !failed; i = next++) {
      if (finished_[i]) continue;
      Status finished = notifier_->finish(batch_[i], results_[i]);
      if (!finished.is_ok()) {
        if (!failed.exchange(true)) {
          bump(counters_->worker_errors);
          std::cerr << name() << ": notify: " << finished.message() << "\n";
        }
        return;
      }
      finished_[i] = 1;
      bump(results_[i].status == RequestStatus::success ? counters_->finished_success : counters_->finished_failed);
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t l = 1; l < lanes; ++l) helpers.emplace_back(lane);
  lane();
  for (auto& helper : helpers) helper.join();
  return !failed;
}

}  // namespace flashsale
