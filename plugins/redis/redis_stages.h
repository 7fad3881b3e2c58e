// What the redis family's stages share: the options, the topology (one Redis,
// or a cluster's slot map: cluster.h), a connection pool per node, the
// pipeline (pipeline.h), the loaded scripts and the stock shards
// (stock_shards.h) (a RedisContext, owned by the Backend and held by each
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
#include "redis/cluster.h"
#include "redis/connection_pool.h"
#include "redis/pipeline.h"
#include "redis/redis_options.h"
#include "redis/scripts.h"
#include "redis/stock_shards.h"

namespace flashsale::redis {

// One script call of a pipelined round (RedisContext::run_all).
struct ScriptCall {
  Script script;
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

struct RedisContext {
  explicit RedisContext(const Options& opts)
      : options(opts),
        topology(opts.cluster ? std::make_unique<Topology>(opts.endpoint, opts.seeds)
                              : std::make_unique<Topology>(opts.endpoint)),
        pools(*topology, opts.pool_size),
        stock_shards(*this),
        pipeline(*topology, opts.pipeline_connections) {}

  bool cluster() const { return options.cluster; }

  // Runs a script through the pipeline, on the lane of its first key: the
  // short calls of the buy path, notify and the admin calls.
  Status run(Script script, const std::vector<std::string>& keys, const std::vector<std::string>& args, Reply* reply) {
    return run_evalsha(script, keys.empty() ? std::string() : keys[0], scripts.evalsha_argv(script, keys, args), reply);
  }
  // The same with the EVALSHA argv built already (Scripts::evalsha_argv) and
  // an optional follow-up (pipeline.h) run right behind an accepting reply.
  Status run_evalsha(Script script, const std::string& route, const std::vector<std::string>& evalsha, Reply* reply,
                     FollowUp* follow_up = nullptr, Status* follow_up_status = nullptr) {
    return scripts.eval_with(
        [&](const std::vector<std::string>& argv, Reply* out) {
          return follow_up == nullptr ? pipeline.command(route, argv, out)
                                      : pipeline.command(route, argv, out, *follow_up, follow_up_status);
        },
        evalsha, script, reply);
  }
  // Many script calls at once through the pipeline, each on the lane of its
  // first key; (*statuses)[i] and (*replies)[i] are calls[i]'s outcome. A
  // call that found its script missing (Redis restarted) is redone alone,
  // which loads the script first.
  void run_all(const std::vector<ScriptCall>& calls, std::vector<Status>* statuses, std::vector<Reply>* replies) {
    std::vector<Pipeline::Command> commands;
    commands.reserve(calls.size());
    for (const ScriptCall& call : calls) {
      commands.push_back({call.keys.front(), scripts.evalsha_argv(call.script, call.keys, call.args)});
    }
    pipeline.command_all(commands, statuses, replies);
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (is_redis_error((*statuses)[i], "NOSCRIPT")) {
        (*statuses)[i] = run_evalsha(calls[i].script, commands[i].route, commands[i].argv, &(*replies)[i]);
      }
    }
  }

  // Runs one command through the pipeline, on the lane of its key (argv[1]).
  Status command(const std::vector<std::string>& argv, Reply* reply) {
    return pipeline.command(argv.size() > 1 ? std::string_view(argv[1]) : std::string_view(), argv, reply);
  }

  // The same two on a pooled connection of their own: the outbox, whose
  // XREADGROUP BLOCK must not stall the pipeline, keeps all its calls there.
  Status run_pooled(Script script, const std::vector<std::string>& keys, const std::vector<std::string>& args,
                    Reply* reply) {
    return pools.with_route(keys.empty() ? std::string_view() : std::string_view(keys[0]), [&](Connection& connection) {
      return scripts.eval(connection, script, keys, args, reply);
    });
  }
  Status command_pooled(const std::vector<std::string>& argv, Reply* reply) {
    return pools.with_route(argv.size() > 1 ? std::string_view(argv[1]) : std::string_view(),
                            [&](Connection& connection) { return connection.command(argv, reply); });
  }

  const Options options;
  std::unique_ptr<Topology> topology;  // first: the pools and the pipeline route by it
  PoolSet pools;
  Scripts scripts;
  StockShards stock_shards;
  Pipeline pipeline;  // last: stopped (queued calls finished or failed, threads joined) before the rest goes
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
