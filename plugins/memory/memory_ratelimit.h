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
  // Times of allowed requests, oldest first. In a flash sale nearly every
  // subject is new and logs one request, so the first kInline times live in
  // the entry itself, and a new subject costs one allocation (its map node),
  // not two. Past that they move to a vector with a moving head (a std::deque
  // would allocate ~600 bytes in two blocks).
  class Log {
   public:
    bool empty() const { return head_ == end_; }
    std::size_t size() const { return end_ - head_; }
    UnixMillis front() const { return at(head_); }
    UnixMillis back() const { return at(end_ - 1); }
    void push_back(UnixMillis time) {
      if (spilled_.empty() && end_ < kInline) {
        inline_[end_++] = time;
        return;
      }
      if (spilled_.empty()) {  // inline is full: move what is live out
        spilled_.assign(inline_ + head_, inline_ + end_);
        end_ -= head_;
        head_ = 0;
      }
      spilled_.push_back(time);
      ++end_;
    }
    void pop_front() {
      ++head_;
      if (spilled_.empty()) {
        if (head_ == end_) head_ = end_ = 0;
      } else if (head_ * 2 >= end_) {  // reclaim the dead half; all of it brings the log back inline
        spilled_.erase(spilled_.begin(), spilled_.begin() + static_cast<std::ptrdiff_t>(head_));
        end_ -= head_;
        head_ = 0;
      }
    }

   private:
    static constexpr std::size_t kInline = 2;
    UnixMillis at(std::uint32_t i) const { return spilled_.empty() ? inline_[i] : spilled_[i]; }

    UnixMillis inline_[kInline] = {};
    std::vector<UnixMillis> spilled_;  // all the times, once there were more than kInline
    std::uint32_t head_ = 0;           // [head_, end_) are live, in inline_ or spilled_;
    std::uint32_t end_ = 0;            // at most buy.rate.limit (<= INT32_MAX) of them
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
