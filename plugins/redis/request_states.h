// Request states in Redis: one hash per request under the request's own hash
// tag (keys::state), so GET /result finds it by request_id alone. Admission
// writes `pending` just before its script runs (see redis_admission.cpp for
// why that order keeps the all-or-nothing promise); notify overwrites it with
// the final state; every write carries request.state.ttl.sec.
#pragma once

#include <string>

#include "flashsale/types.h"
#include "redis/redis_stages.h"

namespace flashsale::redis {

// only_if_absent: leave an existing state alone (admission's late `pending`).
Status write_state(RedisContext& context, const RequestState& state, bool only_if_absent = false);
Status read_state(RedisContext& context, const std::string& request_id,
                  RequestState* out);  // not_found

}  // namespace flashsale::redis
