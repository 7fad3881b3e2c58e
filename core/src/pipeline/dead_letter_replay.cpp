#include "pipeline/dead_letter_replay.h"

#include <algorithm>
#include <string>
#include <vector>

namespace flashsale {

Status replay_dead_letters(DeadLetters& store, std::size_t limit, ReplayOutcome* outcome) {
  *outcome = ReplayOutcome{};
  // Paging on from the last id seen, not from the start: a replayed event
  // that fails again comes back under a newer id and does not hold up the
  // older ones.
  std::string after;
  while (outcome->replayed < limit) {
    std::vector<DeadLetter> page;
    Status listed = store.list_dead_letters(after, std::min(kMaxDeadLetterPage, limit - outcome->replayed), &page);
    if (!listed.is_ok()) return listed;
    if (page.empty()) return Status::ok();
    for (const DeadLetter& letter : page) {
      Status replayed = store.replay_dead_letter(letter.id);
      if (replayed.is_ok()) {
        ++outcome->replayed;
      } else if (replayed.code() != Code::not_found) {
        return replayed;
      }
    }
    after = page.back().id;
  }
  std::vector<DeadLetter> left;
  Status listed = store.list_dead_letters(after, 1, &left);
  if (!listed.is_ok()) return listed;
  outcome->more = !left.empty();
  return Status::ok();
}

}  // namespace flashsale
