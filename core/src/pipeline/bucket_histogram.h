// Lock-free histograms over fixed integer buckets: the accepted->final times
// /healthz reports, and the batch sizes and durations GET /metrics serves.
// Counts are kept per bucket and read cumulatively by the caller, so a client
// can diff two samples and read what happened in between, independent of
// any polling.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace flashsale {

// `kBounds`: the buckets' upper bounds (inclusive), increasing; one more
// bucket holds the rest.
template <const auto& kBounds>
class BucketHistogram {
 public:
  static constexpr std::size_t kBuckets = kBounds.size() + 1;
  using Counts = std::array<std::uint64_t, kBuckets>;

  static constexpr const auto& bounds() { return kBounds; }

  void record(std::int64_t value) {
    std::size_t bucket = 0;
    while (bucket < kBounds.size() && value > kBounds[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  Counts counts() const {
    Counts out{};
    for (std::size_t i = 0; i < kBuckets; ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
    return out;
  }

  std::int64_t sum() const { return sum_.load(std::memory_order_relaxed); }

  // The smallest bound under which at least `share` (0..1] of `counts` fall;
  // -1 when that takes the open last bucket, 0 when there is nothing.
  static std::int64_t bound_of_share(const Counts& counts, double share) {
    std::uint64_t total = 0;
    for (std::uint64_t c : counts) total += c;
    if (total == 0) return 0;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      seen += counts[i];
      if (static_cast<double>(seen) >= share * static_cast<double>(total)) return kBounds[i];
    }
    return -1;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::int64_t> sum_{0};
};

inline constexpr std::array<std::int64_t, 15> kLatencyBoundsMs = {1,    2,    5,    10,    20,    50,    100,  200,
                                                                  500,  1000, 2000, 5000, 10000, 30000, 60000};
inline constexpr std::array<std::int64_t, 16> kDurationBoundsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr std::array<std::int64_t, 13> kBatchSizeBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
                                                                  4096};

using LatencyHistogram = BucketHistogram<kLatencyBoundsMs>;     // ms
using DurationHistogram = BucketHistogram<kDurationBoundsUs>;   // µs
using BatchSizeHistogram = BucketHistogram<kBatchSizeBounds>;  // events

}  // namespace flashsale
