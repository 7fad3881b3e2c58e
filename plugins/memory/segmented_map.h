// A map split by key hash into kSegments tables that grow on their own. A
// product ledger keeps millions of user locks under its one mutex; as one
// table, each growth past its load factor rehashes all of them while every
// buyer of the product waits. Split, a growth rehashes 1/kSegments of them.
// Not thread-safe: the owner's lock guards it, as it would a single map.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace flashsale::memory {

template <typename Map, std::size_t kSegments>
class SegmentedMap {
  static_assert(std::has_single_bit(kSegments), "kSegments must be a power of two");

 public:
  using Key = typename Map::key_type;

  // The table that holds `key`, or would.
  Map& segment(const Key& key) { return segments_[index(key)]; }

  // Sizes the tables for `total` entries spread evenly, so that filling up to
  // it never rehashes.
  void reserve(std::size_t total) {
    for (Map& map : segments_) map.reserve(total / kSegments + 1);
  }

  std::size_t size() const {
    std::size_t count = 0;
    for (const Map& map : segments_) count += map.size();
    return count;
  }

 private:
  // Fibonacci hashing on the high bits: std::hash of an integer is the
  // integer, and the tables themselves index by the low ones.
  static std::size_t index(const Key& key) {
    if constexpr (kSegments == 1) return 0;
    auto hash = static_cast<std::uint64_t>(typename Map::hasher{}(key));
    return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ull) >> (64 - std::countr_zero(kSegments)));
  }

  std::array<Map, kSegments> segments_;
};

}  // namespace flashsale::memory
