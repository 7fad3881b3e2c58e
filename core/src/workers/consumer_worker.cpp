#include "workers/consumer_worker.h"

#include <algorithm>
#include <cstdlib>

#include "flashsale/clock.h"
#include "host/stderr_logger.h"

namespace flashsale {

ConsumerWorker::ConsumerWorker(std::shared_ptr<Relay> relay, std::shared_ptr<OrderStore> store,
                               std::shared_ptr<Notifier> notifier, std::size_t batch_size,
                               std::chrono::milliseconds linger, std::chrono::milliseconds payment_timeout,
                               Counters* counters, std::int64_t crash_before_commit)
    : Worker("consumer-worker", linger),
      relay_(std::move(relay)),
      store_(std::move(store)),
      notifier_(std::move(notifier)),
      batch_size_(batch_size),
      payment_timeout_(payment_timeout),
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
      log(LogLevel::warning, "relay poll: " + polled.message());
    } else if (!batch_.empty() && linger_for_more(batch_.size(), batch_size_)) {
      // Failing to top up is not a failure: the batch in hand goes on.
      Status more = relay_->poll(batch_size_ - batch_.size(), 0ms, &batch_);
      if (!more.is_ok()) log(LogLevel::warning, "relay poll: " + more.message());
    }
    if (batch_.empty()) return polled.is_ok() ? Step::idle : Step::failed;
    results_.clear();
    finished_.assign(batch_.size(), false);
  }

  if (results_.empty()) {
    auto persist_start = std::chrono::steady_clock::now();
    Status persisted = store_->persist(batch_, payment_timeout_.count(), &results_);
    counters_->persist_batch_us.record(elapsed_us(persist_start));
    if (!persisted.is_ok() || results_.size() != batch_.size()) {
      results_.clear();
      bump(counters_->worker_errors);
      log(LogLevel::warning, "persist: " + persisted.message());
      if (persisted.is_ok() || persisted.code() == Code::unavailable) return Step::failed;
      if (!set_aside_failing()) return Step::failed;
    } else {
      count_persisted();
    }
  }

  if (!finish_batch()) return Step::failed;

  if (crash_before_commit_ > 0 && ++commits_ == crash_before_commit_) {
    log(LogLevel::error, "failpoint fault.crash.before.commit: exiting before commit");
    std::_Exit(86);
  }
  Status committed = relay_->commit();
  batch_.clear();
  results_.clear();
  if (!committed.is_ok()) {
    // The batch will be delivered again and come out the same: no retry here.
    log(LogLevel::warning, "relay commit: " + committed.message());
    return Step::failed;
  }
  return Step::worked;
}

bool ConsumerWorker::set_aside_failing() {
  std::vector<OrderEvent> kept;
  std::vector<PersistResult> kept_results;
  bool retry = false;
  for (OrderEvent& event : batch_) {
    std::vector<OrderEvent> one{event};
    std::vector<PersistResult> result;
    Status alone = store_->persist(one, payment_timeout_.count(), &result);
    if (alone.is_ok() && result.size() == 1) {
      kept.push_back(std::move(event));
      kept_results.push_back(std::move(result[0]));
      continue;
    }
    if (alone.is_ok() || alone.code() == Code::unavailable) return false;  // not this event's fault
    bool dead_lettered = false;
    Status rejected =
        relay_->reject(event, std::string(code_name(alone.code())) + ": " + alone.message(), &dead_lettered);
    if (!rejected.is_ok()) log(LogLevel::warning, "relay reject: " + rejected.message());
    if (dead_lettered) {
      stderr_logger().log_request(LogLevel::error, name().c_str(), event.request_id, "dead-lettered: " + alone.message());
      continue;
    }
    retry = true;
  }
  // Until every failing event is dead-lettered, the whole batch is tried
  // again later: the events persisted alone come out the same the next time.
  if (retry) return false;
  batch_ = std::move(kept);
  results_ = std::move(kept_results);
  finished_.assign(batch_.size(), false);
  count_persisted();
  return true;
}

void ConsumerWorker::count_persisted() {
  bump(counters_->persisted, batch_.size());
  counters_->persist_batch_size.record(static_cast<std::int64_t>(batch_.size()));
  bump(counters_->persist_conflicts,
       static_cast<std::uint64_t>(std::count_if(results_.begin(), results_.end(), [](const PersistResult& result) {
         return result.status == RequestStatus::failed;
       })));
}

bool ConsumerWorker::finish_batch() {
  std::vector<bool> before = finished_;
  Status status = notifier_->finish_all(batch_, results_, &finished_);
  finished_.resize(batch_.size(), false);
  UnixMillis now = now_ms();
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    if (finished_[i] && !before[i]) count_finished(i, now);
  }
  if (status.is_ok()) return all_finished();
  bump(counters_->worker_errors);
  log(LogLevel::warning, "notify: " + status.message());
  return false;
}

void ConsumerWorker::count_finished(std::size_t i, UnixMillis now) {
  bump(results_[i].status == RequestStatus::success ? counters_->finished_success : counters_->finished_failed);
  counters_->accepted_to_final.record(std::max<std::int64_t>(0, now - batch_[i].accepted_ms));
}

bool ConsumerWorker::all_finished() {
  if (std::find(finished_.begin(), finished_.end(), false) == finished_.end()) return true;
  // A notifier that answers ok but leaves events unrecorded must not get the
  // batch committed: it is retried instead.
  bump(counters_->worker_errors);
  log(LogLevel::error, "notify: finish_all reported success but left events unfinished");
  return false;
}

}  // namespace flashsale
