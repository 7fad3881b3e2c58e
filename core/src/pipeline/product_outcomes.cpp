#include "pipeline/product_outcomes.h"

#include <mutex>

namespace flashsale {

void ProductOutcomes::count(ProductId product, Code code, bool add) {
  auto slot = static_cast<std::size_t>(code);
  if (slot >= kCodeSlots) return;
  {
    std::shared_lock lock(mutex_);
    auto found = products_.find(product);
    if (found != products_.end()) {
      (*found->second)[slot].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (!add) return;
  std::unique_lock lock(mutex_);
  auto found = products_.find(product);
  if (found == products_.end()) {
    if (products_.size() >= kMaxProducts) return;
    found = products_.emplace(product, std::make_unique<Slots>()).first;
  }
  (*found->second)[slot].fetch_add(1, std::memory_order_relaxed);
}

bool ProductOutcomes::counts(ProductId product, Counts* out) const {
  std::shared_lock lock(mutex_);
  auto found = products_.find(product);
  if (found == products_.end()) return false;
  for (std::size_t i = 0; i < kCodeSlots; ++i) (*out)[i] = (*found->second)[i].load(std::memory_order_relaxed);
  return true;
}

}  // namespace flashsale
