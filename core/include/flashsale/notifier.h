// Stage 6, notify: the fast request-state store that GET /result reads first,
// and the undo of an admission that did not become an order. It shares its
// backend family with admit, whose stock and user locks it compensates.
#pragma once

#include <string>
#include <vector>

#include "flashsale/order_store.h"
#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

// Settings: request.state.ttl.sec (how long final states stay in the store).
// Thread-safety: every method may be called from many threads at once.
class Notifier {
 public:
  virtual ~Notifier() = default;

  // Records the final state of an event. On failure it first restores the
  // event's stock (at most once per request_id, however often it is called)
  // and releases the user lock only if the lock still holds this request_id.
  // Idempotent: safe to call again for a redelivered event.
  virtual Status finish(const OrderEvent& event, const PersistResult& result) noexcept = 0;

  // finish() for a whole persisted batch: events[i] with results[i], for every
  // i where (*finished)[i] is false, setting it once that event is recorded.
  // On failure it returns the first error; the flags say what is done, so a
  // retry redoes only the rest. The consumer worker calls this, never finish()
  // in a loop: a backend behind a network overrides it to record the batch in
  // one round trip. This default calls finish() for each event in turn.
  virtual Status finish_all(const std::vector<OrderEvent>& events, const std::vector<PersistResult>& results,
                            std::vector<bool>* finished) noexcept {
    if (results.size() != events.size()) return Status(Code::invalid_argument, "finish_all needs one result per event");
    finished->resize(events.size(), false);
    for (std::size_t i = 0; i < events.size(); ++i) {
      if ((*finished)[i]) continue;
      Status status = finish(events[i], results[i]);
      if (!status.is_ok()) return status;
      (*finished)[i] = true;
    }
    return Status::ok();
  }

  // The state of a request (pending, success or failed); not_found if unknown.
  virtual Status lookup(const std::string& request_id, RequestState* out) noexcept = 0;

  // Stores a state found in the persist store after a lookup miss.
  virtual Status backfill(const RequestState& state) noexcept = 0;
};

}  // namespace flashsale
