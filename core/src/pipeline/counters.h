// Process-wide counters that operators read from GET /healthz and, with the
// histograms, from GET /metrics. Relaxed atomics: they are statistics, not
// synchronisation.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "flashsale/status.h"
#include "pipeline/bucket_histogram.h"
#include "pipeline/product_outcomes.h"

namespace flashsale {

// The HTTP front's limits at work: each limit has its counter.
struct HttpCounters {
  std::atomic<std::uint64_t> connections_open{0};  // a gauge
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> refused_max_connections{0};  // http.max.connections
  std::atomic<std::uint64_t> refused_per_ip{0};  // http.max.connections.per.ip
  std::atomic<std::uint64_t> header_timeouts{0};  // http.header.timeout.ms
  std::atomic<std::uint64_t> body_timeouts{0};  // http.body.timeout.ms
  std::atomic<std::uint64_t> idle_closed{0};  // http.idle.timeout.ms
  std::atomic<std::uint64_t> write_timeouts{0};  // http.write.timeout.ms
  std::atomic<std::uint64_t> bad_requests{0};  // refused by the parser (4xx/5xx before routing)
  std::atomic<std::uint64_t> unrouted{0};  // no route for the path (404) or the method (405)
  std::atomic<std::uint64_t> payload_too_large{0};  // http.max.body.bytes
  std::atomic<std::uint64_t> pipeline_paused{0};  // http.max.pipelined reached: reading paused
  std::atomic<std::uint64_t> handler_queue_full{0};  // http.handler.queue: 503 overloaded
  std::atomic<std::uint64_t> admin_auth_failures{0};
  std::atomic<std::uint64_t> admin_auth_limited{0};  // answered 429 by the admin guard
};

struct Counters {
  // Buy answers by Code (Code::ok: accepted), rate-limited ones included.
  static constexpr std::size_t kCodeSlots = ProductOutcomes::kCodeSlots;
  std::array<std::atomic<std::uint64_t>, kCodeSlots> buy_outcomes{};
  ProductOutcomes product_outcomes;  // the same, per product
  std::uint64_t buy_accepted() const { return outcome(Code::ok); }
  std::uint64_t rate_limited() const { return outcome(Code::rate_limited); }
  std::uint64_t buy_rejected() const;  // every other answer
  std::uint64_t outcome(Code code) const {
    return buy_outcomes[static_cast<std::size_t>(code)].load(std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> ratelimit_fail_open{0};
  std::atomic<std::uint64_t> relayed{0};
  std::atomic<std::uint64_t> relay_retries{0};
  std::atomic<std::uint64_t> outbox_redeliveries{0};  // entries read again (deliveries > 1)
  DurationHistogram relay_publish_us;
  std::atomic<std::uint64_t> persisted{0};
  std::atomic<std::uint64_t> persist_conflicts{0};  // events persist answered failed (a conflicting order)
  BatchSizeHistogram persist_batch_size;
  DurationHistogram persist_batch_us;
  std::atomic<std::uint64_t> finished_success{0};
  std::atomic<std::uint64_t> finished_failed{0};
  std::atomic<std::uint64_t> worker_errors{0};
  // The order lifecycle.
  std::atomic<std::uint64_t> payments_accepted{0};  // pay answered ok (replays included)
  std::atomic<std::uint64_t> cancels_accepted{0};   // cancel answered ok (replays included)
  std::atomic<std::uint64_t> orders_expired{0};     // cancelled by the expiry worker
  std::atomic<std::uint64_t> stock_returned{0};     // returns (and top-ups) completed
  std::atomic<std::uint64_t> stock_return_failures{0};  // left pending for the worker to retry
  HttpCounters http;
  LatencyHistogram accepted_to_final;  // ms, recorded when a final state is
};

inline std::uint64_t Counters::buy_rejected() const {
  std::uint64_t rejected = 0;
  for (const auto& count : buy_outcomes) rejected += count.load(std::memory_order_relaxed);
  return rejected - buy_accepted() - rate_limited();
}

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

inline void count_buy_outcome(Counters& counters, Code code) {
  auto slot = static_cast<std::size_t>(code);
  if (slot < Counters::kCodeSlots) bump(counters.buy_outcomes[slot]);
}

}  // namespace flashsale
