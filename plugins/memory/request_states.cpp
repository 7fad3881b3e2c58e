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
  put(RequestKey(state.request_id), state.status, state.order_id, state.reason);
}

void RequestStates::put(const RequestKey& request_id, RequestStatus status, OrderId order_id, std::string reason) {
  Entry entry{status, order_id, std::move(reason), clock_() + ttl_ms_};
  states_.with_shard(request_id, [&](auto& states) { states.insert_or_assign(request_id, std::move(entry)); });
}

void RequestStates::put_pending_if_absent(const RequestKey& request_id) {
  UnixMillis expires_ms = clock_() + ttl_ms_;
  states_.with_shard(request_id, [&](auto& states) {
    states.try_emplace(request_id, Entry{RequestStatus::pending, 0, {}, expires_ms});
  });
}

bool RequestStates::get(const std::string& request_id, RequestState* out) {
  UnixMillis now = clock_();
  RequestKey key(request_id);
  return states_.with_shard(key, [&](auto& states) {
    auto found = states.find(key);
    if (found == states.end()) return false;
    const Entry& entry = found->second;
    if (entry.expires_ms <= now) {
      states.erase(found);
      return false;
    }
    out->request_id = request_id;
    out->status = entry.status;
    out->reason = entry.reason;
    out->order_id = entry.order_id;
    return true;
  });
}

void RequestStates::erase(const std::string& request_id) {
  RequestKey key(request_id);
  states_.with_shard(key, [&](auto& states) { states.erase(key); });
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
