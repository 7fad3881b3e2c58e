// The settings the redis family reads, parsed once when the backend is made.
// Fallbacks equal the host's defaults (core/src/host/config.cpp), for a host
// that passes fewer keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/settings.h"
#include "redis/cluster.h"
#include "redis/connection.h"

namespace flashsale::redis {

struct Options {
  Endpoint endpoint;                     // the first of redis.addr, redis.db, redis.*.timeout.ms
  bool cluster = false;                  // redis.cluster, or more than one redis.addr
  std::vector<NodeAddress> seeds;        // every redis.addr
  std::int64_t wait_replicas = 0;        // redis.wait.replicas
  std::int64_t wait_timeout_ms = 200;    // redis.wait.timeout.ms
  std::size_t pool_size = 8;             // redis.pool.size: idle connections kept open
  std::size_t pipeline_connections = 1;  // redis.pipeline.connections: lanes of the pipeline
  std::int64_t rate_limit = 1000;        // buy.rate.limit
  std::int64_t rate_window_ms = 1000;
  bool stock_expires = true;  // stock.cache.ttl.hour > 0 (judged by the eviction check)
  std::int64_t state_ttl_sec = 86400;
  std::int64_t claim_idle_ms = 30000;
  std::int64_t max_deliveries = 16;
  std::string stream;  // order.event.stream
  std::string group;     // order.event.group
  std::string consumer;  // order.event.consumer
};

// False with a one-line *error naming the key when a value is unusable.
bool read_options(const Settings& settings, Options* options, std::string* error);

}  // namespace flashsale::redis
