// "Replay all" for an operator: a stage's dead letters put back a page at a
// time, oldest first, bounded per call so one request never runs unbounded.
#pragma once

#include <cstddef>

#include "flashsale/dead_letter.h"

namespace flashsale {

struct ReplayOutcome {
  std::size_t replayed = 0;
  bool more = false;  // dead letters were left when `limit` was reached
};

// Replays dead letters until none is left or `limit` were replayed. One that
// another caller replayed meanwhile (not_found) is passed over. On an error
// *outcome still counts what was replayed before it.
Status replay_dead_letters(DeadLetters& store, std::size_t limit, ReplayOutcome* outcome);

}  // namespace flashsale
