// Stage 1, ratelimit: a sliding window of requests per subject.
#pragma once

#include <string>

#include "flashsale/status.h"

namespace flashsale {

// Limit and window come from the settings the backend was made with
// (buy.rate.limit requests per buy.rate.window.sec seconds).
// Thread-safety: every method may be called from many threads at once.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;

  // Counts one request of `subject` ("u:<user_id>" or "ip:<address>") and sets
  // *allowed. A non-ok Status means the backend could not decide; the host then
  // lets the request through (fail-open) and counts it.
  virtual Status allow(const std::string& subject, bool* allowed) noexcept = 0;
};

}  // namespace flashsale
