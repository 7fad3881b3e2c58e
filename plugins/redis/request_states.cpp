// Reading and writing the state strings of request_states.h.
#include "redis/request_states.h"

#include <charconv>

#include "redis/keys.h"

namespace flashsale::redis {

namespace {

bool status_of(std::string_view name, RequestStatus* out) {
  for (RequestStatus status : {RequestStatus::pending, RequestStatus::success, RequestStatus::failed}) {
    if (name == status_name(status)) {
      *out = status;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string encode_state(const RequestState& state) {
  std::string value = status_name(state.status);
  value += '|';
  value += std::to_string(state.order_id);
  value += '|';
  value += state.reason;
  return value;
}

Status decode_state(const std::string& request_id, std::string_view value, RequestState* out) {
  auto garbled = [&] {
    return Status(Code::internal,
                  "lookup: request " + request_id + " has a garbled state '" + std::string(value) + "'");
  };
  std::size_t first = value.find('|');
  if (first == std::string_view::npos) return garbled();
  std::size_t second = value.find('|', first + 1);
  if (second == std::string_view::npos) return garbled();

  RequestState state;
  std::string_view name = value.substr(0, first);
  if (!status_of(name, &state.status)) {
    return Status(Code::internal,
                  "lookup: request " + request_id + " has an unknown status '" + std::string(name) + "'");
  }
  std::string_view order = value.substr(first + 1, second - first - 1);
  auto [end, error] = std::from_chars(order.data(), order.data() + order.size(), state.order_id);
  if (order.empty() || error != std::errc() || end != order.data() + order.size()) return garbled();
  state.request_id = request_id;
  state.reason = std::string(value.substr(second + 1));
  *out = std::move(state);
  return Status::ok();
}

std::vector<std::string> state_set_argv(const RedisContext& context, const RequestState& state, bool only_if_absent) {
  std::vector<std::string> argv{"SET", keys::state(state.request_id), encode_state(state), "EX",
                                std::to_string(context.options.state_ttl_sec)};
  if (only_if_absent) argv.emplace_back("NX");
  return argv;
}

Status write_state(RedisContext& context, const RequestState& state, bool only_if_absent) {
  Reply reply;  // OK, or nil when NX found a state: both fine
  return context.pipeline.command(state_route(state.request_id), state_set_argv(context, state, only_if_absent),
                                  &reply);
}

Status read_state(RedisContext& context, const std::string& request_id, RequestState* out) {
  Reply reply;
  Status status = context.pipeline.command(state_route(request_id), {"GET", keys::state(request_id)}, &reply);
  // WRONGTYPE: a state hash left by a version before the string layout.
  // Treated as no state: /result falls back to the persist store, and the
  // backfill that follows replaces it (SET overwrites a key of any type).
  if (is_redis_error(status, "WRONGTYPE")) return Status(Code::not_found, "no state for request " + request_id);
  if (!status.is_ok()) return status;
  if (reply->type == REDIS_REPLY_NIL) return Status(Code::not_found, "no state for request " + request_id);
  if (reply->type != REDIS_REPLY_STRING) return unexpected_reply("lookup");
  return decode_state(request_id, std::string_view(reply->str, reply->len), out);
}

}  // namespace flashsale::redis
