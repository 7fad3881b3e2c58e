// Stage 6, notify: the fast request-state store that GET /result reads first,
// and the undo of an admission that did not become an order. It shares its
// backend family with admit, whose stock and user locks it compensates.
#pragma once

#include <string>

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

  // The state of a request (pending, success or failed); not_found if unknown.
  virtual Status lookup(const std::string& request_id, RequestState* out) noexcept = 0;

  // Stores a state found in the persist store after a lookup miss.
  virtual Status backfill(const RequestState& state) noexcept = 0;
};

}  // namespace flashsale
