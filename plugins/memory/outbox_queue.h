// The memory outbox: the queue admission appends to (while it holds the
// product's ledger lock, so admit and append are one step) and relay workers
// drain. New entries wait in arrival order. A read moves them to `pending`,
// stamped with the delivery time; a pending entry idle longer than the claim
// time is handed out again with deliveries + 1, unless it has already been
// delivered max_deliveries times: then it moves to the dead letters (kept and
// counted, never dropped) under its entry id, until a replay appends it again
// as a new entry. ack removes pending entries for good.
// Entries are kept compact (the request id packed, no entry id text), new
// and pending alike: append runs under a product's ledger lock and waits for
// this queue's, so the queue's lock is held only to move compact entries, and
// the OutboxEntry a reader gets is built on the reader's thread after read()
// has let go of it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "flashsale/outbox.h"
#include "memory_clock.h"
#include "request_key.h"

namespace flashsale::memory {

class OutboxQueue {
 public:
  // `clock` stamps dead letters (default: the wall clock).
  OutboxQueue(std::chrono::milliseconds claim_idle, std::uint32_t max_deliveries, Clock clock = {});

  void append(const OrderEvent& event);
  // The same, for a caller that has the event's request id packed already.
  void append(const OrderEvent& event, const RequestKey& request_id);
  // As Outbox::read: idle pending entries first, then new ones; waits up to
  // `wait` while there is nothing to hand out.
  void read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out);
  void ack(const std::vector<std::string>& ids);
  OutboxStats stats() const;
  // As DeadLetters (dead_letter.h); ids are the entries' decimal ids.
  Status list_dead_letters(const std::string& after, std::size_t limit, std::vector<DeadLetter>* out) const;
  Status find_dead_letter(const std::string& id, DeadLetter* out) const;
  Status replay_dead_letter(const std::string& id);

 private:
  using Steady = std::chrono::steady_clock;
  // An OrderEvent as it waits in the queue.
  struct Compact {
    std::uint64_t id = 0;
    RequestKey request_id;
    UserId user_id = 0;
    ProductId product_id = 0;
    std::int32_t quantity = 0;
    std::int64_t unit_price = 0;
    UnixMillis accepted_ms = 0;
  };
  struct Pending {
    Compact entry;
    std::uint32_t deliveries = 0;
    Steady::time_point delivered_at;
  };
  // An entry read() hands out, taken under the lock and expanded after it.
  struct Handout {
    Compact entry;
    std::uint32_t deliveries = 0;
  };
  struct Dead {
    Compact entry;
    std::uint32_t deliveries = 0;
    UnixMillis dead_ms = 0;
  };

  static OutboxEntry expand(const Compact& entry, std::uint32_t deliveries);
  static DeadLetter dead_letter(const Dead& dead);
  void redeliver_idle(Steady::time_point now, std::size_t max, std::vector<Handout>* taken);
  void deliver_new(Steady::time_point now, std::size_t max, std::vector<Handout>* taken);
  Steady::time_point next_claim(Steady::time_point deadline) const;

  const std::chrono::milliseconds claim_idle_;
  const std::uint32_t max_deliveries_;
  const Clock clock_;

  mutable std::mutex mutex_;
  std::condition_variable appended_;
  std::uint64_t next_id_ = 1;
  std::deque<Compact> fresh_;                   // appended, never delivered
  std::map<std::uint64_t, Pending> pending_;    // delivered, not acked; by id = arrival order
  std::map<std::uint64_t, Dead> dead_letters_;  // by id = arrival order
  std::uint64_t replayed_ = 0;
};

}  // namespace flashsale::memory
