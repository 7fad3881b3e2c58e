// Stage 4, relay: carries accepted OrderEvents from the relay worker (which
// publishes) to the consumer worker (which polls, persists, notifies and only
// then commits). At-least-once: whatever was polled and not committed is
// delivered again after a restart or rebalance.
#pragma once

#include <chrono>
#include <vector>

#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

// Thread-safety: publish may run on one thread while poll/commit run on
// another; poll and commit are called from one consumer thread only.
class Relay {
 public:
  virtual ~Relay() = default;

  // Publishes events and waits (bounded) for each outcome. Sets
  // (*delivered)[i] to true only when events[i] is known to be durably written;
  // an unknown outcome counts as not delivered, so the caller retries it.
  virtual Status publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered) noexcept = 0;

  // Appends up to `max` events to *out, waiting up to `wait` for the first.
  // Undecodable messages are logged, counted and skipped by the backend.
  virtual Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out) noexcept = 0;

  // Commits every event returned by poll so far: they are not delivered again.
  virtual Status commit() noexcept = 0;
};

}  // namespace flashsale
