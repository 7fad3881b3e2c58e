// Stage 1 of the memory family: an exact sliding-window log per subject.
// A subject keeps the times of its allowed requests within the last window
// (denied requests are not recorded), so it holds at most `limit` timestamps.
// Subjects whose newest request left the window are dropped by a sweep that
// runs at most once per window, which keeps memory bounded by the subjects
// active in the last window. Subjects are spread over shards, one lock each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "flashsale/ratelimit.h"
#include "memory_clock.h"
#include "sharded_map.h"
#include "sweep_schedule.h"

namespace flashsale::memory {

class MemoryRateLimiter final : public RateLimiter {
 public:
  MemoryRateLimiter(std::int64_t limit, std::int64_t window_ms, Clock clock);

  Status allow(const std::string& subject, bool* allowed) noexcept override;

  // Subjects held now (swept or not); lets tests see idle ones go.
  std::size_t subject_count() const;

 private:
  // Times of allowed requests, oldest first. A vector with a moving head:
  // in a flash sale nearly every subject is new and logs one request, and a
  // std::deque would allocate ~600 bytes in two blocks for it.
  class Log {
   public:
    bool empty() const { return head_ == times_.size(); }
    std::size_t size() const { return times_.size() - head_; }
    UnixMillis front() const { return times_[head_]; }
    UnixMillis back() const { return times_.back(); }
    void push_back(UnixMillis at) { times_.push_back(at); }
    void pop_front() {
      if (++head_ * 2 >= times_.size()) {  // reclaim the dead half
        times_.erase(times_.begin(), times_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }

   private:
    std::vector<UnixMillis> times_;
    std::size_t head_ = 0;
  };

  void drop_idle_subjects(UnixMillis now);
  bool expired(UnixMillis at, UnixMillis now) const { return at + window_ms_ <= now; }

  const std::int64_t limit_;
  const std::int64_t window_ms_;
  const Clock clock_;
  SweepSchedule sweep_;
  ShardedMap<std::unordered_map<std::string, Log>, 32> subjects_;
};

}  // namespace flashsale::memory
