// Stage 4 of the memory family: an in-process log standing in for a Kafka
// topic with one consumer. publish appends and reports every event delivered
// (the log is as durable as this process, no more). poll hands out events in
// publish order from a read position, waiting on a condition variable for
// the first; commit drops everything handed out so far.
//
// Like a Kafka consumer, poll never hands out the same event twice within one
// object: polled-but-uncommitted events stay in the log (memory is bounded by
// committing) and would come back only after a restart, which for an
// in-memory log loses everything anyway. A consumer that cannot persist a
// batch retries it itself before committing, as it must with Kafka.
#include <condition_variable>
#include <deque>
#include <mutex>

#include "flashsale/boundary.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

class MemoryRelay final : public Relay {
 public:
  Status publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered) noexcept override {
    return guarded("memory relay publish", [&] {
      delivered->assign(events.size(), false);
      {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < events.size(); ++i) {
          log_.push_back(events[i]);
          (*delivered)[i] = true;
        }
      }
      published_.notify_all();
      return Status::ok();
    });
  }

  Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out) noexcept override {
    return guarded("memory relay poll", [&] {
      if (max == 0) return Status::ok();
      std::unique_lock lock(mutex_);
      published_.wait_for(lock, wait, [&] { return handed_out_ < log_.size(); });
      // Moved out, not copied: an event is handed out once per object, and
      // commit drops the shell left behind.
      for (std::size_t taken = 0; taken < max && handed_out_ < log_.size(); ++taken) {
        out->push_back(std::move(log_[handed_out_]));
        ++handed_out_;
      }
      return Status::ok();
    });
  }

  Status commit() noexcept override {
    return guarded("memory relay commit", [&] {
      std::lock_guard lock(mutex_);
      log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(handed_out_));
      handed_out_ = 0;
      return Status::ok();
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable published_;
  std::deque<OrderEvent> log_;  // published, not committed
  std::size_t handed_out_ = 0;  // log_[0, handed_out_) was polled
};

}  // namespace

Relay* new_relay() {
  return new MemoryRelay();
}

}  // namespace flashsale::memory
