#include "http/connection_budget.h"

namespace flashsale {

ConnectionBudget::Admit ConnectionBudget::take(const IpAddress& peer) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_.load(std::memory_order_relaxed) >= max_total_) return Admit::over_total;
  std::size_t& count = per_address_[peer];
  if (count >= max_per_address_) {
    if (count == 0) per_address_.erase(peer);
    return Admit::over_address;
  }
  ++count;
  open_.fetch_add(1, std::memory_order_relaxed);
  return Admit::ok;
}

void ConnectionBudget::give_back(const IpAddress& peer) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = per_address_.find(peer);
  if (it == per_address_.end()) return;
  if (--it->second == 0) per_address_.erase(it);
  open_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace flashsale
