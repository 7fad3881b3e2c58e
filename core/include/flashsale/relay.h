// Stage 4, relay: carries accepted OrderEvents from the relay worker (which
// publishes) to the consumer worker (which polls, persists, notifies and only
// then commits). At-least-once: whatever was polled and not committed is
// delivered again after a restart or rebalance.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/dead_letter.h"
#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

struct RelayStats {
  std::uint64_t dead_lettered = 0;  // messages this object moved to its dead letters
  std::uint64_t replayed = 0;       // dead letters this object put back
};

// Thread-safety: publish may run on one thread while poll/commit/reject run
// on another; poll, commit and reject are called from one consumer thread
// only. The dead-letter methods (DeadLetters) and stats may be called from
// any thread.
class Relay : public DeadLetters {
 public:
  virtual ~Relay() = default;

  // Publishes events and waits (bounded) for each outcome. Sets
  // (*delivered)[i] to true only when events[i] is known to be durably written;
  // an unknown outcome counts as not delivered, so the caller retries it.
  virtual Status publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered) noexcept = 0;

  // Appends up to `max` events to *out, waiting up to `wait` for the first.
  // A message that does not decode is never handed out: the backend moves it
  // to its dead letters (with why) and counts it; it commits with the rest.
  virtual Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out) noexcept = 0;

  // Commits every event returned by poll so far: they are not delivered again.
  virtual Status commit() noexcept = 0;

  // The consumer could not process `event` (returned by poll, not yet
  // committed) for a reason that retrying will not cure (`reason`: the
  // error). The backend counts the failures of each event; once `event` has
  // failed the backend's limit of times (kafka.max.attempts for kafka) it
  // moves it to the dead letters with `reason` and sets *dead_lettered: the
  // event then counts as processed and commits with the rest. Otherwise
  // *dead_lettered is false and the consumer tries the event again. Transient
  // failures (a backend unavailable) are never reported here: those are
  // retried for as long as they last.
  virtual Status reject(const OrderEvent& event, const std::string& reason, bool* dead_lettered) noexcept = 0;

  virtual Status stats(RelayStats* stats) noexcept = 0;
};

}  // namespace flashsale
