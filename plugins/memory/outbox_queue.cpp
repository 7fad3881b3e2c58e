// The memory outbox queue; see outbox_queue.h.
#include "outbox_queue.h"

#include <algorithm>
#include <charconv>

namespace flashsale::memory {

OutboxQueue::OutboxQueue(std::chrono::milliseconds claim_idle, std::uint32_t max_deliveries)
    : claim_idle_(claim_idle), max_deliveries_(max_deliveries) {}

void OutboxQueue::append(const OrderEvent& event) {
  append(event, RequestKey(event.request_id));
}

void OutboxQueue::append(const OrderEvent& event, const RequestKey& request_id) {
  NewEntry entry{0, request_id, event.user_id, event.product_id, event.quantity, event.unit_price, event.accepted_ms};
  {
    std::lock_guard lock(mutex_);
    entry.id = next_id_;
    fresh_.push_back(std::move(entry));
    ++next_id_;
  }
  appended_.notify_all();
}

void OutboxQueue::read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) {
  if (max == 0) return;
  Steady::time_point deadline = Steady::now() + wait;
  std::unique_lock lock(mutex_);
  for (;;) {
    Steady::time_point now = Steady::now();
    std::size_t taken = redeliver_idle(now, max, out);
    taken += deliver_new(now, max - taken, out);
    if (taken > 0 || now >= deadline) return;
    appended_.wait_until(lock, next_claim(deadline));
  }
}

std::size_t OutboxQueue::redeliver_idle(Steady::time_point now, std::size_t max, std::vector<OutboxEntry>* out) {
  std::size_t taken = 0;
  for (auto it = pending_.begin(); it != pending_.end() && taken < max;) {
    Pending& pending = it->second;
    if (now - pending.delivered_at < claim_idle_) {
      ++it;
      continue;
    }
    if (pending.entry.deliveries >= max_deliveries_) {
      dead_letters_.push_back(pending.entry);
      it = pending_.erase(it);
      continue;
    }
    ++pending.entry.deliveries;
    pending.delivered_at = now;
    out->push_back(pending.entry);
    ++taken;
    ++it;
  }
  return taken;
}

std::size_t OutboxQueue::deliver_new(Steady::time_point now, std::size_t max, std::vector<OutboxEntry>* out) {
  std::size_t taken = 0;
  while (taken < max && !fresh_.empty()) {
    const NewEntry& fresh = fresh_.front();
    OutboxEntry entry{std::to_string(fresh.id),
                      OrderEvent{fresh.request_id.text(), fresh.user_id, fresh.product_id, fresh.quantity,
                                 fresh.unit_price, fresh.accepted_ms},
                      1};
    // Pending before handed out: if handing out fails, a later read reclaims it.
    const OutboxEntry& delivered = pending_.emplace(fresh.id, Pending{std::move(entry), now}).first->second.entry;
    fresh_.pop_front();
    out->push_back(delivered);
    ++taken;
  }
  return taken;
}

// When a waiting reader should look again: at the deadline, or earlier when a
// pending entry becomes claimable before it.
OutboxQueue::Steady::time_point OutboxQueue::next_claim(Steady::time_point deadline) const {
  Steady::time_point next = deadline;
  for (const auto& [id, pending] : pending_) next = std::min(next, pending.delivered_at + claim_idle_);
  return next;
}

void OutboxQueue::ack(const std::vector<std::string>& ids) {
  std::lock_guard lock(mutex_);
  for (const std::string& text : ids) {
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec == std::errc() && end == text.data() + text.size()) pending_.erase(id);
  }
}

OutboxStats OutboxQueue::stats() const {
  std::lock_guard lock(mutex_);
  return OutboxStats{pending_.size(), dead_letters_.size()};
}

std::vector<OutboxEntry> OutboxQueue::dead_letters() const {
  std::lock_guard lock(mutex_);
  return dead_letters_;
}

}  // namespace flashsale::memory
