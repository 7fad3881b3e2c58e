// Dead letters: messages a stage moved aside because they could not be
// carried on (an outbox entry delivered too often, a relay message that does
// not decode or keeps failing in persist). They are kept and counted, never
// dropped, until an operator looks at them and replays them. The outbox and
// the relay stage both keep theirs behind this one interface, so the admin
// endpoints (GET /api/admin/dead-letters, ...) treat them alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

struct DeadLetter {
  std::string id;        // opaque, unique in its store; pages run in id order, oldest first
  bool decoded = false;  // `event` holds the message; otherwise `raw` does
  OrderEvent event;
  std::string raw;               // the message as stored, when it does not decode
  std::uint32_t deliveries = 0;  // attempts before it was moved aside; 0 when not known
  UnixMillis dead_ms = 0;        // when it was moved aside
  std::string reason;            // why
};

// The most dead letters one page holds.
inline constexpr std::size_t kMaxDeadLetterPage = 100;

// Thread-safety: every method may be called from many threads at once, and
// alongside the stage's own methods.
class DeadLetters {
 public:
  // Appends to *out up to `limit` dead letters whose id comes after `after`
  // ("" = from the oldest), oldest first. Fewer than `limit` means none is
  // left after them. invalid_argument when limit is 0 or above
  // kMaxDeadLetterPage, or `after` is not of the store's id form (it need not
  // exist any more).
  virtual Status list_dead_letters(const std::string& after, std::size_t limit,
                                   std::vector<DeadLetter>* out) noexcept = 0;

  // One dead letter; not_found when there is none with this id (unknown,
  // malformed or replayed already).
  virtual Status find_dead_letter(const std::string& id, DeadLetter* out) noexcept = 0;

  // Puts the message back where it was moved aside from, as a new message
  // (its attempts start again), removes it from the dead letters and counts
  // the replay. not_found when there is no such dead letter, so a second
  // replay of one id changes nothing. A message that does not decode goes
  // back as it was stored (and comes back here). At-least-once: a backend
  // that cannot do both in one step may carry the message twice, which the
  // persist stage's unique request_id makes harmless.
  virtual Status replay_dead_letter(const std::string& id) noexcept = 0;

 protected:
  ~DeadLetters() = default;
};

}  // namespace flashsale
