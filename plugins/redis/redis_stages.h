// What the redis family's stages share: the options, one connection pool and
// the loaded scripts (a RedisContext, owned by the Backend and held by each
// stage), the stage factories, and the exception policy at the plugin
// boundary: every stage method runs its body through guarded(), which turns
// an escaping exception (in practice std::bad_alloc) into Code::internal.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "flashsale/admission.h"
#include "flashsale/boundary.h"
#include "flashsale/notifier.h"
#include "flashsale/outbox.h"
#include "flashsale/ratelimit.h"
#include "redis/connection_pool.h"
#include "redis/redis_options.h"
#include "redis/scripts.h"

namespace flashsale::redis {

struct RedisContext {
  explicit RedisContext(const Options& opts) : options(opts), pool(opts.endpoint, opts.pool_size) {}

  // Runs a script on a pooled connection.
  Status run(Script script, const std::vector<std::string>& keys, const std::vector<std::string>& args, Reply* reply) {
    return pool.with_connection(
        [&](Connection& connection) { return scripts.eval(connection, script, keys, args, reply); });
  }
  // Runs one command on a pooled connection.
  Status command(const std::vector<std::string>& argv, Reply* reply) {
    return pool.with_connection([&](Connection& connection) { return connection.command(argv, reply); });
  }

  const Options options;
  ConnectionPool pool;
  Scripts scripts;
};

// Each throws only on allocation failure; the outbox one also reports (as a
// Status) a consumer group it cannot create.
RateLimiter* new_ratelimit(std::shared_ptr<RedisContext> context);
Admission* new_admission(std::shared_ptr<RedisContext> context);
Outbox* new_outbox(std::shared_ptr<RedisContext> context, Status* error);
Notifier* new_notifier(std::shared_ptr<RedisContext> context);

// Connects, refuses an eviction policy that could drop stock, locks or
// idempotency keys, and loads the scripts. Not ok: a one-line message naming
// redis.addr.
Status check_and_load(RedisContext& context);

}  // namespace flashsale::redis
