// The request-state store of the memory family: request_id -> pending,
// success or failed, which GET /result reads first. Every state expires
// request.state.ttl.sec after it was last written (pending ones too, so an
// event lost downstream cannot pin memory forever); an expired state reads as
// absent and is removed by a sweep that runs at most once per sweep interval.
// States are spread over shards by request_id, one lock each; an entry keeps
// the id once, packed (request_key.h), and no copy of it in the state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "flashsale/types.h"
#include "memory_clock.h"
#include "request_key.h"
#include "sharded_map.h"
#include "sweep_schedule.h"

namespace flashsale::memory {

class RequestStates {
 public:
  RequestStates(std::int64_t ttl_ms, Clock clock);

  // Writes (or overwrites) a state and restarts its TTL.
  void put(const RequestState& state);
  void put(const RequestKey& request_id, RequestStatus status, OrderId order_id, std::string reason);
  // Writes `pending` for a request that has no entry yet, expired or not, and
  // leaves any existing one alone: admission writes it after its product lock
  // is released, when finish() may already have recorded the final state.
  void put_pending_if_absent(const RequestKey& request_id);
  // False when the request is unknown or its state expired.
  bool get(const std::string& request_id, RequestState* out);
  void erase(const std::string& request_id);

  // Drops expired states when the sweep is due. Callers run it before taking
  // a product lock, so the occasional full scan never stalls an admission.
  void sweep_if_due();

  // States held now, expired-but-unswept ones included; lets tests see the sweep.
  std::size_t size() const;

 private:
  struct Entry {
    RequestStatus status = RequestStatus::pending;
    OrderId order_id = 0;
    std::string reason;
    UnixMillis expires_ms = 0;
  };
  void drop_expired(UnixMillis now);

  const std::int64_t ttl_ms_;
  const Clock clock_;
  SweepSchedule sweep_;
  // 64 shards: a shard that grows rehashes 1/64 of the states and stalls only
  // the requests that hash to it.
  ShardedMap<std::unordered_map<RequestKey, Entry>, 64> states_;
};

}  // namespace flashsale::memory
