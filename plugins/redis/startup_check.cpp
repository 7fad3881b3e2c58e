// The start-up checks of the redis family (see redis_stages.h): Redis must be
// reachable, must not be allowed to evict the keys that make admission
// correct, and gets every script loaded.
//
// Which eviction policies are safe: noeviction always. A volatile-* policy
// only evicts keys that carry a TTL; stock (fs:{p:N}:sale), user locks and
// idempotency keys take the stock's TTL, which is stock.cache.ttl.hour, so
// volatile-* is safe only with stock.cache.ttl.hour = 0 (those keys then never
// expire, and only rate windows, request states and compensation markers of
// expired products can be evicted). allkeys-* may evict anything: refused.
#include <string>

#include "redis/redis_stages.h"

namespace flashsale::redis {

namespace {

Status judge_policy(const std::string& policy, const Options& options) {
  const std::string& name = options.endpoint.name;
  if (policy == "noeviction") return Status::ok();
  bool is_volatile = policy.rfind("volatile-", 0) == 0;
  if (is_volatile && !options.stock_expires) return Status::ok();
  std::string message = name + ": maxmemory-policy is " + policy +
                        ", which could evict stock, user locks or idempotency "
                        "keys; set it to noeviction";
  if (is_volatile) message += " (or keep " + policy + " and set stock.cache.ttl.hour = 0)";
  return Status(Code::unavailable, message);
}

}  // namespace

Status check_and_load(RedisContext& context) {
  return context.pool.with_connection([&](Connection& connection) {
    Reply reply;
    Status status = connection.command({"CONFIG", "GET", "maxmemory-policy"}, &reply);
    if (!status.is_ok()) return Status(status.code(), "cannot read maxmemory-policy: " + status.message());
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      return Status(Code::internal, context.options.endpoint.name + ": CONFIG GET maxmemory-policy: unexpected reply");
    }
    Status judged = judge_policy(reply_text(reply->element[1]), context.options);
    if (!judged.is_ok()) return judged;
    return context.scripts.load_all(connection);
  });
}

}  // namespace flashsale::redis
