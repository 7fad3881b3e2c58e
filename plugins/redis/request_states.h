// Request states in Redis: one hash per request under the request's own hash
// tag (keys::state), so GET /result finds it by request_id alone. Admission
// writes `pending` right after an accepting script, only if no state exists
// yet (see redis_admission.cpp); notify overwrites it with the final state;
// every write carries request.state.ttl.sec.
#pragma once

#include <string>
#include <vector>

#include "flashsale/types.h"
#include "redis/keys.h"
#include "redis/redis_stages.h"

namespace flashsale::redis {

// The EVALSHA of lua/set_state.lua for `state`, and the pipeline route of
// every call on it (its key): one lane keeps a request's writes and reads in
// order. only_if_absent: leave an existing state alone (admission's late
// `pending`).
std::vector<std::string> state_argv(const RedisContext& context, const RequestState& state, bool only_if_absent);
inline std::string state_route(const std::string& request_id) {
  return keys::state(request_id);
}

Status write_state(RedisContext& context, const RequestState& state, bool only_if_absent = false);
Status read_state(RedisContext& context, const std::string& request_id,
                  RequestState* out);  // not_found

}  // namespace flashsale::redis
