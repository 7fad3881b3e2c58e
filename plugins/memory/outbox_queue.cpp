// The memory outbox queue; see outbox_queue.h.
#include "outbox_queue.h"

#include <algorithm>
#include <charconv>

#include "flashsale/clock.h"

namespace flashsale::memory {

namespace {

bool parse_id(const std::string& text, std::uint64_t* id) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

OutboxQueue::OutboxQueue(std::chrono::milliseconds claim_idle, std::uint32_t max_deliveries, Clock clock)
    : claim_idle_(claim_idle), max_deliveries_(max_deliveries), clock_(clock ? std::move(clock) : Clock(now_ms)) {}

void OutboxQueue::append(const OrderEvent& event) {
  append(event, RequestKey(event.request_id));
}

void OutboxQueue::append(const OrderEvent& event, const RequestKey& request_id) {
  Compact entry{0, request_id, event.user_id, event.product_id, event.quantity, event.unit_price, event.accepted_ms};
  {
    std::lock_guard lock(mutex_);
    entry.id = next_id_;
    fresh_.push_back(entry);
    ++next_id_;
  }
  appended_.notify_all();
}

void OutboxQueue::read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) {
  if (max == 0) return;
  Steady::time_point deadline = Steady::now() + wait;
  std::vector<Handout> taken;
  {
    std::unique_lock lock(mutex_);
    for (;;) {
      Steady::time_point now = Steady::now();
      redeliver_idle(now, max, &taken);
      deliver_new(now, max - taken.size(), &taken);
      if (!taken.empty() || now >= deadline) break;
      appended_.wait_until(lock, next_claim(deadline));
    }
  }
  // Pending already: if building these fails, a later read reclaims them.
  out->reserve(out->size() + taken.size());
  for (const Handout& handout : taken) out->push_back(expand(handout.entry, handout.deliveries));
}

OutboxEntry OutboxQueue::expand(const Compact& entry, std::uint32_t deliveries) {
  return OutboxEntry{std::to_string(entry.id),
                     OrderEvent{entry.request_id.text(), entry.user_id, entry.product_id, entry.quantity,
                                entry.unit_price, entry.accepted_ms},
                     deliveries};
}

void OutboxQueue::redeliver_idle(Steady::time_point now, std::size_t max, std::vector<Handout>* taken) {
  for (auto it = pending_.begin(); it != pending_.end() && taken->size() < max;) {
    Pending& pending = it->second;
    if (now - pending.delivered_at < claim_idle_) {
      ++it;
      continue;
    }
    if (pending.deliveries >= max_deliveries_) {
      dead_letters_.emplace(pending.entry.id, Dead{pending.entry, pending.deliveries, clock_()});
      it = pending_.erase(it);
      continue;
    }
    ++pending.deliveries;
    pending.delivered_at = now;
    taken->push_back(Handout{pending.entry, pending.deliveries});
    ++it;
  }
}

void OutboxQueue::deliver_new(Steady::time_point now, std::size_t max, std::vector<Handout>* taken) {
  for (std::size_t n = 0; n < max && !fresh_.empty(); ++n) {
    Compact fresh = fresh_.front();
    // Pending before handed out: if handing out fails, a later read reclaims it.
    pending_.emplace_hint(pending_.end(), fresh.id, Pending{fresh, 1, now});
    fresh_.pop_front();
    taken->push_back(Handout{fresh, 1});
  }
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
    if (parse_id(text, &id)) pending_.erase(id);
  }
}

OutboxStats OutboxQueue::stats() const {
  std::lock_guard lock(mutex_);
  return OutboxStats{fresh_.size(), pending_.size(), dead_letters_.size(), replayed_};
}

DeadLetter OutboxQueue::dead_letter(const Dead& dead) {
  OutboxEntry entry = expand(dead.entry, dead.deliveries);
  DeadLetter letter;
  letter.id = std::move(entry.id);
  letter.decoded = true;
  letter.event = std::move(entry.event);
  letter.deliveries = dead.deliveries;
  letter.dead_ms = dead.dead_ms;
  letter.reason = "delivered " + std::to_string(dead.deliveries) + " times without an ack";
  return letter;
}

Status OutboxQueue::list_dead_letters(const std::string& after, std::size_t limit, std::vector<DeadLetter>* out) const {
  if (limit == 0 || limit > kMaxDeadLetterPage) {
    return {Code::invalid_argument, "limit must be 1 to " + std::to_string(kMaxDeadLetterPage)};
  }
  std::uint64_t from = 0;
  if (!after.empty() && !parse_id(after, &from)) return {Code::invalid_argument, "not a dead letter id: " + after};
  std::vector<Dead> page;
  {
    std::lock_guard lock(mutex_);
    for (auto it = dead_letters_.upper_bound(from); it != dead_letters_.end() && page.size() < limit; ++it) {
      page.push_back(it->second);
    }
  }
  for (const Dead& dead : page) out->push_back(dead_letter(dead));
  return Status::ok();
}

Status OutboxQueue::find_dead_letter(const std::string& id, DeadLetter* out) const {
  std::uint64_t key = 0;
  Dead found;
  {
    std::lock_guard lock(mutex_);
    auto it = parse_id(id, &key) ? dead_letters_.find(key) : dead_letters_.end();
    if (it == dead_letters_.end()) return {Code::not_found, "no dead letter " + id};
    found = it->second;
  }
  *out = dead_letter(found);
  return Status::ok();
}

Status OutboxQueue::replay_dead_letter(const std::string& id) {
  std::uint64_t key = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = parse_id(id, &key) ? dead_letters_.find(key) : dead_letters_.end();
    if (it == dead_letters_.end()) return {Code::not_found, "no dead letter " + id};
    Compact entry = it->second.entry;
    entry.id = next_id_++;
    fresh_.push_back(entry);
    dead_letters_.erase(it);
    ++replayed_;
  }
  appended_.notify_all();
  return Status::ok();
}

}  // namespace flashsale::memory
