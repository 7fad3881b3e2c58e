// The request-state store of the memory family: request_id -> pending,
// success or failed, which GET /result reads first. Every state expires
// request.state.ttl.sec after it was last written (pending ones too, so an
// event lost downstream cannot pin memory forever); an expired state reads as
// absent and is removed by a sweep that runs at most once per sweep interval.
// States are spread over shards by request_id, one lock each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "flashsale/types.h"
#include "memory_clock.h"
#include "sharded_map.h"
#include "sweep_schedule.h"

namespace flashsale::memory {

class RequestStates {
 public:
  RequestStates(std::int64_t ttl_ms, Clock clock);

  // Writes (or overwrites) a state and restarts its TTL.
  void put(const RequestState& state);
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
    RequestState state;
    UnixMillis expires_ms = 0;
  };
  void drop_expired(UnixMillis now);

  const std::int64_t ttl_ms_;
  const Clock clock_;
  SweepSchedule sweep_;
  ShardedMap<std::unordered_map<std::string, Entry>, 16> states_;
};

}  // namespace flashsale::memory
