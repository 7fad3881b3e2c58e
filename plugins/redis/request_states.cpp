// Reading and writing the state hashes of request_states.h.
#include "redis/request_states.h"

#include "redis/keys.h"

namespace flashsale::redis {

std::vector<std::string> state_argv(const RedisContext& context, const RequestState& state, bool only_if_absent) {
  return context.scripts.evalsha_argv(Script::set_state, {keys::state(state.request_id)},
                                      {status_name(state.status), state.reason, std::to_string(state.order_id),
                                       std::to_string(context.options.state_ttl_sec), only_if_absent ? "1" : "0"});
}

Status write_state(RedisContext& context, const RequestState& state, bool only_if_absent) {
  Reply reply;
  return context.run_evalsha(Script::set_state, state_route(state.request_id),
                             state_argv(context, state, only_if_absent), &reply);
}

Status read_state(RedisContext& context, const std::string& request_id, RequestState* out) {
  Reply reply;
  Status status = context.command({"HMGET", keys::state(request_id), "status", "reason", "order_id"}, &reply);
  if (!status.is_ok()) return status;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return unexpected_reply("lookup");
  if (reply->element[0]->type == REDIS_REPLY_NIL) return Status(Code::not_found, "no state for request " + request_id);
  std::string name = reply_text(reply->element[0]);
  RequestState state;
  state.request_id = request_id;
  if (name == "pending")
    state.status = RequestStatus::pending;
  else if (name == "success")
    state.status = RequestStatus::success;
  else if (name == "failed")
    state.status = RequestStatus::failed;
  else
    return Status(Code::internal, "lookup: request " + request_id + " has an unknown status '" + name + "'");
  state.reason = reply_text(reply->element[1]);
  if (!reply_int(reply->element[2], &state.order_id)) state.order_id = 0;
  *out = std::move(state);
  return Status::ok();
}

}  // namespace flashsale::redis
