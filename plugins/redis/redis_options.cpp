// Parsing of the redis family's settings; see redis_options.h.
#include "redis/redis_options.h"

#include "redis/redis_settings.h"

namespace flashsale::redis {

namespace {

std::string where(const std::string& key) {
  return key + " (" + Settings::env_name(key) + ")";
}

bool parse_one_addr(const std::string& addr, Endpoint* endpoint, std::string* error) {
  auto colon = addr.rfind(':');
  std::string host = colon == std::string::npos ? addr : addr.substr(0, colon);
  std::string port = colon == std::string::npos ? "6379" : addr.substr(colon + 1);
  Settings parsed;
  parsed.set("port", port);
  std::string problem;
  endpoint->port = static_cast<int>(parsed.get_int("port", 0, &problem, 1, 65535));
  if (host.empty() || !problem.empty()) {
    *error = where("redis.addr") + ": expected host:port, got '" + addr + "'";
    return false;
  }
  endpoint->host = host;
  endpoint->name = where("redis.addr") + " " + addr;
  return true;
}

// host:port, or a comma-separated list of them (cluster seed nodes).
bool parse_addr(const std::string& list, Options* options, std::string* error) {
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = list.find(',', start);
    std::string addr = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    Endpoint endpoint;
    if (!parse_one_addr(addr, &endpoint, error)) return false;
    if (options->seeds.empty()) options->endpoint = endpoint;
    options->seeds.push_back(NodeAddress{endpoint.host, endpoint.port});
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

bool read_options(const Settings& settings, Options* options, std::string* error) {
  if (!parse_addr(settings.get(setting::kAddr), options, error)) return false;
  std::string cluster = settings.get(setting::kCluster);
  if (cluster != "true" && cluster != "false") {
    *error = where("redis.cluster") + ": expected true or false, got '" + cluster + "'";
    return false;
  }
  options->cluster = cluster == "true" || options->seeds.size() > 1;
  std::string problem;
  Endpoint& endpoint = options->endpoint;
  endpoint.db = static_cast<int>(settings.get_int(setting::kDb, &problem));
  if (options->cluster && endpoint.db != 0) problem = where("redis.db") + ": a Redis Cluster has database 0 only";
  endpoint.connect_timeout = std::chrono::milliseconds(settings.get_int(setting::kConnectTimeout, &problem));
  endpoint.command_timeout = std::chrono::milliseconds(settings.get_int(setting::kCommandTimeout, &problem));
  options->wait_replicas = settings.get_int(setting::kWaitReplicas, &problem);
  options->wait_timeout_ms = settings.get_int(setting::kWaitTimeout, &problem);
  options->pool_size = static_cast<std::size_t>(settings.get_int(setting::kPoolSize, &problem));
  options->pipeline_connections = static_cast<std::size_t>(settings.get_int(setting::kPipelineConnections, &problem));
  options->rate_limit = settings.get_int("buy.rate.limit", 1000, &problem, 1, INT32_MAX);
  options->rate_window_ms = settings.get_int("buy.rate.window.sec", 1, &problem, 1, 86400) * 1000;
  options->stock_expires = settings.get_int("stock.cache.ttl.hour", 24, &problem, 0, 24 * 365) > 0;
  options->state_ttl_sec = settings.get_int("request.state.ttl.sec", 86400, &problem, 1, INT32_MAX);
  options->claim_idle_ms = settings.get_int("outbox.claim.idle.ms", 30000, &problem, 1, 86400000);
  options->max_deliveries = settings.get_int("outbox.max.deliveries", 16, &problem, 1, 1000000);
  options->stream = settings.get(setting::kStream);
  options->group = settings.get(setting::kGroup);
  options->consumer = settings.get(setting::kConsumer);
  for (const SettingSpec& spec : {setting::kStream, setting::kGroup, setting::kConsumer}) {
    if (settings.get(spec).empty()) problem = where(spec.key) + ": must not be empty";
  }
  if (!problem.empty()) *error = problem;
  return problem.empty();
}

}  // namespace flashsale::redis
