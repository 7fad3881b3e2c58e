// Accepted->final times as the consumer records them (finish time minus the
// event's accepted_ms), counted in fixed buckets without locks. /healthz
// reports them cumulatively, so a client can diff two samples and read the
// latency of the requests finished in between, independent of any polling.
// With roles split over hosts the figure includes their clock difference.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace flashsale {

class LatencyHistogram {
 public:
  // Upper bounds (inclusive) of the buckets, in ms; one more bucket holds the rest.
  static constexpr std::array<std::int64_t, 15> kBoundsMs = {1,   2,    5,    10,   20,    50,    100,  200,
                                                             500, 1000, 2000, 5000, 10000, 30000, 60000};
  static constexpr std::size_t kBuckets = kBoundsMs.size() + 1;
  using Counts = std::array<std::uint64_t, kBuckets>;

  void record(std::int64_t ms) {
    std::size_t bucket = 0;
    while (bucket < kBoundsMs.size() && ms > kBoundsMs[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  }

  Counts counts() const {
    Counts out{};
    for (std::size_t i = 0; i < kBuckets; ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
    return out;
  }

  // The smallest bound under which at least `share` (0..1] of `counts` fall;
  // -1 when that takes the open last bucket, 0 when there is nothing.
  static std::int64_t bound_of_share(const Counts& counts, double share) {
    std::uint64_t total = 0;
    for (std::uint64_t c : counts) total += c;
    if (total == 0) return 0;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBoundsMs.size(); ++i) {
      seen += counts[i];
      if (static_cast<double>(seen) >= share * static_cast<double>(total)) return kBoundsMs[i];
    }
    return -1;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

}  // namespace flashsale
