// Stage 1 of the memory family: an exact sliding-window log per subject.
// A subject keeps the times of its allowed requests within the last window
// (denied requests are not recorded), so it holds at most `limit` timestamps.
// Subjects whose newest request left the window are dropped by a sweep that
// runs at most once per window, which keeps memory bounded by the subjects
// active in the last window. Subjects are spread over shards, one lock each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

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
  using Log = std::deque<UnixMillis>;  // times of allowed requests, oldest first

  void drop_idle_subjects(UnixMillis now);
  bool expired(UnixMillis at, UnixMillis now) const { return at + window_ms_ <= now; }

  const std::int64_t limit_;
  const std::int64_t window_ms_;
  const Clock clock_;
  SweepSchedule sweep_;
  ShardedMap<std::unordered_map<std::string, Log>, 32> subjects_;
};

}  // namespace flashsale::memory
