// Buy answers by product, for GET /metrics: which product of a sale sells,
// is sold out, or is hammered by one buyer. Only a product the catalog found
// gets counts of its own (an id nobody created costs nothing), at most
// kMaxProducts of them; a product past that is counted only in the totals.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <unordered_map>

#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

class ProductOutcomes {
 public:
  static constexpr std::size_t kCodeSlots = 32;  // as Counters::buy_outcomes: by Code, Code::ok = accepted
  static constexpr std::size_t kMaxProducts = 100000;
  using Counts = std::array<std::uint64_t, kCodeSlots>;

  // Counts `code` for `product`; `add`: make its counts if it has none yet.
  void count(ProductId product, Code code, bool add);
  // The product's counts by Code; false when it has none.
  bool counts(ProductId product, Counts* out) const;

 private:
  using Slots = std::array<std::atomic<std::uint64_t>, kCodeSlots>;
  mutable std::shared_mutex mutex_;
  std::unordered_map<ProductId, std::unique_ptr<Slots>> products_;
};

}  // namespace flashsale
