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
// On a cluster every master is checked and gets the scripts.
#include <string>

#include "redis/redis_stages.h"

namespace flashsale::redis {

namespace {

Status judge_policy(const std::string& policy, const Options& options, const std::string& name) {
  if (policy == "noeviction") return Status::ok();
  bool is_volatile = policy.rfind("volatile-", 0) == 0;
  if (is_volatile && !options.stock_expires) return Status::ok();
  std::string message = name + ": maxmemory-policy is " + policy +
                        ", which could evict stock, user locks or idempotency "
                        "keys; set it to noeviction";
  if (is_volatile) message += " (or keep " + policy + " and set stock.cache.ttl.hour = 0)";
  return Status(Code::unavailable, message);
}

// One node: the eviction policy, the scripts, and that its cluster mode is
// the one configured (a cluster node used as one Redis would answer MOVED).
Status check_node(RedisContext& context, int node, const std::string& name) {
  return context.pools.with_node(node, [&](Connection& connection) {
    Reply reply;
    Status status = connection.command({"CONFIG", "GET", "maxmemory-policy"}, &reply);
    if (!status.is_ok()) return Status(status.code(), "cannot read maxmemory-policy: " + status.message());
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      return Status(Code::internal, name + ": CONFIG GET maxmemory-policy: unexpected reply");
    }
    Status judged = judge_policy(reply_text(reply->element[1]), context.options, name);
    if (!judged.is_ok()) return judged;
    if (!context.cluster()) {
      status = connection.command({"INFO", "cluster"}, &reply);
      if (!status.is_ok()) return status;
      if (reply_text(reply.get()).find("cluster_enabled:1") != std::string::npos) {
        return Status(Code::unavailable, name + ": the server is a Redis Cluster node; set redis.cluster = true");
      }
    }
    return context.scripts.load_all(connection);
  });
}

}  // namespace

Status check_and_load(RedisContext& context) {
  if (!context.cluster()) return check_node(context, 0, context.options.endpoint.name);
  Topology& topology = *context.topology;
  const std::string where = "redis.addr (REDIS_ADDR)";
  Status refreshed = topology.refresh();
  if (!refreshed.is_ok()) return Status(refreshed.code(), where + ": cannot read the cluster's slot map: " + refreshed.message());
  for (std::size_t slot = 0; slot < kSlotCount; ++slot) {
    if (topology.node_for_slot(static_cast<std::uint16_t>(slot)) == Topology::kNoNode) {
      return Status(Code::unavailable, where + ": no node serves slot " + std::to_string(slot) +
                                           " (the cluster is not ready; CLUSTER INFO tells why)");
    }
  }
  for (int node : topology.masters()) {
    Status checked = check_node(context, node, topology.endpoint(node).name);
    if (!checked.is_ok()) return checked;
  }
  topology.start_refresher();
  return Status::ok();
}

}  // namespace flashsale::redis
