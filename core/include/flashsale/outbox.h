// Stage 3, outbox: the durable queue that admission appends to atomically and
// the relay worker drains. Delivery to the relay is at-least-once: an entry
// stays pending until acked, and a pending entry idle longer than the claim
// time is delivered again (to this or another worker).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/dead_letter.h"
#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

struct OutboxEntry {
  std::string id;  // opaque, unique within the outbox
  OrderEvent event;
  std::uint32_t deliveries = 0;  // 1 on first delivery
};

struct OutboxStats {
  std::uint64_t undelivered = 0;    // appended, not yet delivered
  std::uint64_t pending = 0;        // delivered, not yet acked
  std::uint64_t dead_lettered = 0;  // in the dead letters now (moved aside, not replayed)
  std::uint64_t replayed = 0;       // dead letters put back since the store began
};

// Settings: outbox.claim.idle.ms (redeliver pending entries idle this long),
// outbox.max.deliveries (after that many, the entry goes to the dead letters
// and is counted, never dropped silently; an entry that does not decode goes
// there at once). A replayed dead letter is appended as a new entry, read
// after the entries already waiting.
// Thread-safety: read and ack may be called from several workers at once.
class Outbox : public DeadLetters {
 public:
  virtual ~Outbox() = default;

  // Appends up to `max` entries to *out: entries idle past the claim time
  // first, then new ones. Waits up to `wait` when there is nothing to deliver.
  virtual Status read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) noexcept = 0;

  // Marks entries as relayed; they are never delivered again. Unknown ids are
  // ignored, so a late ack after a reclaim is harmless.
  virtual Status ack(const std::vector<std::string>& ids) noexcept = 0;

  virtual Status stats(OutboxStats* stats) noexcept = 0;
};

}  // namespace flashsale
