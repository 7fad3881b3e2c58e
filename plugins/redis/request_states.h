// Request states in Redis: one string per request under the request's own
// hash tag (keys::state), so GET /result finds it by request_id alone, written
// and read by native commands (SET ... EX, GET), which cost Redis far less
// than a script call. Admission writes `pending` right after an accepting
// script with SET NX, only if no state exists yet (see redis_admission.cpp);
// notify and backfill overwrite it with a plain SET; every write carries
// request.state.ttl.sec.
//
// The value is "<status>|<order_id>|<reason>": status is pending, success or
// failed, order_id a decimal integer (0 when none), and the reason the whole
// rest, so it may itself contain '|' or be empty.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flashsale/types.h"
#include "redis/keys.h"
#include "redis/redis_stages.h"

namespace flashsale::redis {

std::string encode_state(const RequestState& state);  // request_id is the key, not part of the value
// The inverse, strictly: anything encode_state cannot have written is
// Code::internal naming the request. Sets out->request_id to request_id.
Status decode_state(const std::string& request_id, std::string_view value, RequestState* out);

// SET of `state` with its TTL (NX when only_if_absent: leave an existing
// state alone, admission's late `pending`), and the pipeline route of every
// command on it (its key): one lane keeps a request's writes and reads in
// order.
std::vector<std::string> state_set_argv(const RedisContext& context, const RequestState& state, bool only_if_absent);
inline std::string state_route(const std::string& request_id) {
  return keys::state(request_id);
}

// ok also when only_if_absent found a state (SET NX answered nil).
Status write_state(RedisContext& context, const RequestState& state, bool only_if_absent = false);
Status read_state(RedisContext& context, const std::string& request_id,
                  RequestState* out);  // not_found

}  // namespace flashsale::redis
