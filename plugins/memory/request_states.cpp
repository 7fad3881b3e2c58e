// The TTL'd request-state map of the memory family; see request_states.h.
#include "request_states.h"

#include <algorithm>
#include <utility>

namespace flashsale::memory {

namespace {
// Often enough that expired states do not pile up, rarely enough that the
// full scan costs nothing on the hot path.
std::int64_t sweep_interval(std::int64_t ttl_ms) {
  return std::clamp<std::int64_t>(ttl_ms, 1000, 60000);
}
}  // namespace

RequestStates::RequestStates(std::int64_t ttl_ms, Clock clock)
    : ttl_ms_(ttl_ms), clock_(std::move(clock)), sweep_(sweep_interval(ttl_ms)) {}

void RequestStates::put(const RequestState& state) {
  UnixMillis expires_ms = clock_() + ttl_ms_;
  states_.with_shard(state.request_id, [&](auto& states) {
    states.insert_or_assign(state.request_id, Entry{state, expires_ms});
  });
}

bool RequestStates::get(const std::string& request_id, RequestState* out) {
  UnixMillis now = clock_();
  return states_.with_shard(request_id, [&](auto& states) {
    auto found = states.find(request_id);
    if (found == states.end()) return false;
    if (found->second.expires_ms <= now) {
      states.erase(found);
      return false;
    }
    *out = found->second.state;
    return true;
  });
}

void RequestStates::erase(const std::string& request_id) {
  states_.with_shard(request_id, [&](auto& states) { states.erase(request_id); });
}

void RequestStates::sweep_if_due() {
  UnixMillis now = clock_();
  if (sweep_.claim(now)) drop_expired(now);
}

void RequestStates::drop_expired(UnixMillis now) {
  states_.for_each_shard(
      [&](auto& states) { std::erase_if(states, [&](const auto& entry) { return entry.second.expires_ms <= now; }); });
}

std::size_t RequestStates::size() const {
  return states_.size();
}

}  // namespace flashsale::memory
