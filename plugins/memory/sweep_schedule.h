// The memory stores expire entries lazily: no timer thread, just a sweep that
// whichever caller comes first after the interval runs. A SweepSchedule hands
// that turn to exactly one caller per interval, without a lock.
#pragma once

#include <atomic>
#include <cstdint>

#include "flashsale/types.h"

namespace flashsale::memory {

class SweepSchedule {
 public:
  explicit SweepSchedule(std::int64_t interval_ms) : interval_ms_(interval_ms) {}

  // True for the one caller that should sweep now.
  bool claim(UnixMillis now) noexcept {
    UnixMillis due = next_ms_.load(std::memory_order_relaxed);
    return now >= due && next_ms_.compare_exchange_strong(due, now + interval_ms_, std::memory_order_relaxed);
  }

 private:
  std::int64_t interval_ms_;
  std::atomic<UnixMillis> next_ms_{0};
};

}  // namespace flashsale::memory
