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
//
// An event rejected kMaxAttempts times moves to this object's dead letters
// (ids are decimal sequence numbers); a replay appends it to the log again.
// Events are values here, so nothing is ever undecodable.
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "flashsale/boundary.h"
#include "flashsale/clock.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

// Failures of one event before it is dead-lettered (kafka.max.attempts's default).
constexpr std::uint32_t kMaxAttempts = 5;

bool parse_id(const std::string& text, std::uint64_t* id) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

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
      attempts_.clear();  // whatever failed before is now processed or dead-lettered
      return Status::ok();
    });
  }

  Status reject(const OrderEvent& event, const std::string& reason, bool* dead_lettered) noexcept override {
    return guarded("memory relay reject", [&] {
      *dead_lettered = false;
      std::lock_guard lock(mutex_);
      std::uint32_t failed = ++attempts_[event.request_id];
      if (failed < kMaxAttempts) return Status::ok();
      attempts_.erase(event.request_id);
      std::uint64_t key = next_dead_id_++;
      DeadLetter letter;
      letter.id = std::to_string(key);
      letter.decoded = true;
      letter.event = event;
      letter.deliveries = failed;
      letter.dead_ms = now_ms();
      letter.reason = reason;
      dead_letters_.emplace(key, std::move(letter));
      ++stats_.dead_lettered;
      *dead_lettered = true;
      return Status::ok();
    });
  }

  Status stats(RelayStats* stats) noexcept override {
    return guarded("memory relay stats", [&] {
      std::lock_guard lock(mutex_);
      *stats = stats_;
      return Status::ok();
    });
  }

  Status list_dead_letters(const std::string& after, std::size_t limit,
                           std::vector<DeadLetter>* out) noexcept override {
    return guarded("memory relay dead letters", [&] {
      if (limit == 0 || limit > kMaxDeadLetterPage) {
        return Status(Code::invalid_argument, "limit must be 1 to " + std::to_string(kMaxDeadLetterPage));
      }
      std::uint64_t from = 0;
      if (!after.empty() && !parse_id(after, &from)) {
        return Status(Code::invalid_argument, "not a dead letter id: " + after);
      }
      std::lock_guard lock(mutex_);
      for (auto it = dead_letters_.upper_bound(from); it != dead_letters_.end() && limit > 0; ++it, --limit) {
        out->push_back(it->second);
      }
      return Status::ok();
    });
  }

  Status find_dead_letter(const std::string& id, DeadLetter* out) noexcept override {
    return guarded("memory relay dead letter", [&] {
      std::uint64_t key = 0;
      std::lock_guard lock(mutex_);
      auto it = parse_id(id, &key) ? dead_letters_.find(key) : dead_letters_.end();
      if (it == dead_letters_.end()) return Status(Code::not_found, "no dead letter " + id);
      *out = it->second;
      return Status::ok();
    });
  }

  Status replay_dead_letter(const std::string& id) noexcept override {
    return guarded("memory relay replay", [&] {
      std::uint64_t key = 0;
      {
        std::lock_guard lock(mutex_);
        auto it = parse_id(id, &key) ? dead_letters_.find(key) : dead_letters_.end();
        if (it == dead_letters_.end()) return Status(Code::not_found, "no dead letter " + id);
        log_.push_back(std::move(it->second.event));
        dead_letters_.erase(it);
        ++stats_.replayed;
      }
      published_.notify_all();
      return Status::ok();
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable published_;
  std::deque<OrderEvent> log_;                               // published, not committed
  std::size_t handed_out_ = 0;                               // log_[0, handed_out_) was polled
  std::unordered_map<std::string, std::uint32_t> attempts_;  // failures per request_id since the last commit
  std::map<std::uint64_t, DeadLetter> dead_letters_;
  std::uint64_t next_dead_id_ = 1;
  RelayStats stats_;
};

}  // namespace

Relay* new_relay() {
  return new MemoryRelay();
}

}  // namespace flashsale::memory
