// Process-wide counters that operators read from GET /healthz. Relaxed
// atomics: they are statistics, not synchronisation.
#pragma once

#include <atomic>
#include <cstdint>

#include "pipeline/latency_histogram.h"

namespace flashsale {

struct Counters {
  std::atomic<std::uint64_t> buy_accepted{0};
  std::atomic<std::uint64_t> buy_rejected{0};
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> ratelimit_fail_open{0};
  std::atomic<std::uint64_t> relayed{0};
  std::atomic<std::uint64_t> relay_retries{0};
  std::atomic<std::uint64_t> persisted{0};
  std::atomic<std::uint64_t> finished_success{0};
  std::atomic<std::uint64_t> finished_failed{0};
  std::atomic<std::uint64_t> worker_errors{0};
  LatencyHistogram accepted_to_final;  // ms, recorded when a final state is
};

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace flashsale
