#include "host/config.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "host/startup_error.h"
#include "host/stderr_logger.h"

namespace flashsale {

const char* stage_name(StageKind stage) noexcept {
  switch (stage) {
    case StageKind::ratelimit:
      return "ratelimit";
    case StageKind::admit:
      return "admit";
    case StageKind::outbox:
      return "outbox";
    case StageKind::relay:
      return "relay";
    case StageKind::persist:
      return "persist";
    case StageKind::notify:
      return "notify";
  }
  return "?";
}

const std::vector<KnownKey>& known_keys() {
  static const std::vector<KnownKey> keys = {
      {"http.addr", ":8080", "listen address, host:port (host empty = all interfaces, port 0 = any free port)"},
      {"http.io.threads", "0", "threads that serve every connection (event-driven); 0 = one per core"},
      {"http.threads", "32", "threads that run handlers which call a backend; 0 = run them on the I/O threads"},
      {"http.handler.queue", "4096", "requests waiting for a handler thread; beyond it 503 overloaded"},
      {"http.max.connections", "20000", "open connections in total; beyond it a new one gets 503 and is closed"},
      {"http.max.connections.per.ip", "256", "open connections per client address; beyond it 429 and closed"},
      {"http.max.body.bytes", "16384", "largest request body accepted; larger gets 413"},
      {"http.max.header.bytes", "16384", "request line and header fields together; larger gets 431"},
      {"http.max.request.line.bytes", "8192", "longest request line; longer gets 414"},
      {"http.max.headers", "64", "most header fields in a request; more gets 431"},
      {"http.max.pipelined", "16", "requests answered on one connection before other connections get a turn"},
      {"http.header.timeout.ms", "5000", "a request's head must arrive within this from its first byte (408)"},
      {"http.body.timeout.ms", "10000", "a request's body must arrive within this from the end of its head (408)"},
      {"http.idle.timeout.ms", "60000", "a connection with no request in progress is closed after this"},
      {"http.write.timeout.ms", "10000",
       "a connection whose client reads nothing of an answer for this long is closed"},
      {"http.drain.timeout.ms", "10000", "on SIGTERM, requests in progress get this long to finish"},
      {"http.trusted.proxies", "", "addresses/CIDR blocks whose X-Forwarded-For names the client (empty = none)"},
      {"admin.auth.failures.per.sec", "10", "wrong admin tokens per client address per second before 429"},
      {"preload.admin.token", "dev-admin-token", "token admin endpoints expect in X-Admin-Token"},
      {"roles", "api,relay,consumer",
       "what this process runs: any of api, relay, consumer, expirer (consumer includes expirer)"},
      {"order.payment.timeout.sec", "900", "an order not paid within this is cancelled and its stock returned, s"},
      {"order.expiry.scan.ms", "1000", "how often the expiry worker looks for orders past their deadline, ms"},
      {"payment.webhook.secret", "",
       "HMAC-SHA256 key of X-Payment-Signature on POST /api/orders/{id}/pay (empty = payments refused)"},
      {"plugin.dir", "",
       "folders searched in order for flashsale-<family>.so, separated by ':' (default: <exe dir>/../plugins)"},
      {"stage.ratelimit", "redis", "backend family of the ratelimit stage"},
      {"stage.admit", "redis", "backend family of the admit stage"},
      {"stage.outbox", "redis", "backend family of the outbox stage (must equal stage.admit)"},
      {"stage.relay", "kafka", "backend family of the relay stage"},
      {"stage.persist", "sqlite", "backend family of the persist stage"},
      {"stage.notify", "redis", "backend family of the notify stage (must equal stage.admit)"},
      {"buy.rate.limit", "1000", "buy requests allowed per user (or IP) per window"},
      {"buy.rate.window.sec", "1", "rate-limit sliding window, seconds"},
      {"stock.cache.ttl.hour", "24", "how long preloaded stock stays in the admit stage, hours"},
      {"request.state.ttl.sec", "86400", "how long final request states stay in the notify store, seconds"},
      {"outbox.claim.idle.ms", "30000", "redeliver an outbox entry unacked for this long, ms"},
      {"outbox.max.deliveries", "16", "deliveries before an outbox entry is dead-lettered"},
      {"worker.batch.size", "256", "events per relay/consumer batch"},
      {"worker.linger.ms", "2", "wait for a partial batch to fill once"},
      {"log.format", "text", "stderr lines: text, or json (one object per line: ts, level, component, msg, request_id)"},
      {"log.level", "info", "least severe level logged: debug, info, warning or error"},
      {"fault.crash.before.commit", "0",
       "failpoint for tests: the consumer exits abruptly before its Nth relay commit (0 = off)"},
      {"fault.crash.before.outbox.ack", "0",
       "failpoint for tests: the relay exits abruptly before its Nth outbox ack, after publishing (0 = off)"},
      {"fault.crash.before.stock.return", "0",
       "failpoint for tests: the process exits abruptly before its Nth stock return reaches the admit stage (0 = off)"},
  };
  return keys;
}

namespace {

std::string trim(const std::string& text) {
  const char* space = " \t\r\n";
  auto first = text.find_first_not_of(space);
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

std::map<std::string, std::string> read_properties(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw StartupError("config file " + file + ": cannot be read");
  std::map<std::string, std::string> values;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == '!') continue;
    auto eq = text.find_first_of("=:");
    if (eq == std::string::npos) {
      throw StartupError("config file " + file + ":" + std::to_string(number) + ": expected key = value");
    }
    values[trim(text.substr(0, eq))] = trim(text.substr(eq + 1));
  }
  return values;
}

std::map<std::string, std::string> environment(char** env) {
  std::map<std::string, std::string> vars;
  for (char** p = env; p != nullptr && *p != nullptr; ++p) {
    const char* eq = std::strchr(*p, '=');
    if (eq != nullptr) vars.emplace(std::string(static_cast<const char*>(*p), eq), std::string(eq + 1));
  }
  return vars;
}

std::string where(const std::string& key) {
  return key + " (" + Settings::env_name(key) + ")";
}

std::int64_t require_int(const Settings& settings, const std::string& key, std::int64_t min, std::int64_t max) {
  std::string error;
  std::int64_t value = settings.get_int(key, 0, &error, min, max);
  if (!error.empty()) throw StartupError(error);
  return value;
}

void parse_addr(const Settings& settings, Config* config) {
  std::string addr = settings.get("http.addr");
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) throw StartupError(where("http.addr") + ": expected host:port, got '" + addr + "'");
  config->http_host = addr.substr(0, colon);
  Settings port;
  port.set("http.addr", addr.substr(colon + 1));
  std::string error;
  config->http_port = static_cast<std::uint16_t>(port.get_int("http.addr", 0, &error, 0, 65535));
  if (!error.empty() || addr.size() == colon + 1) {
    throw StartupError(where("http.addr") + ": expected host:port with port 0-65535, got '" + addr + "'");
  }
}

void parse_roles(const Settings& settings, Config* config) {
  config->role_api = config->role_relay = config->role_consumer = config->role_expirer = false;
  std::stringstream list(settings.get("roles"));
  std::string role;
  while (std::getline(list, role, ',')) {
    role = trim(role);
    if (role == "api")
      config->role_api = true;
    else if (role == "relay")
      config->role_relay = true;
    else if (role == "consumer")
      config->role_consumer = config->role_expirer = true;
    else if (role == "expirer")
      config->role_expirer = true;
    else
      throw StartupError(where("roles") + ": unknown role '" + role + "' (expected api, relay, consumer, expirer)");
  }
  if (!config->role_api && !config->role_relay && !config->role_consumer && !config->role_expirer) {
    throw StartupError(where("roles") + ": names no role");
  }
}

void parse_http(const Settings& settings, Config* config) {
  HttpServerOptions& http = config->http;
  http.host = config->http_host;
  http.port = config->http_port;
  auto int_of = [&](const char* key, std::int64_t min, std::int64_t max) {
    return require_int(settings, key, min, max);
  };
  auto ms_of = [&](const char* key) { return std::chrono::milliseconds(int_of(key, 1, 3'600'000)); };
  auto size_of = [&](const char* key, std::int64_t min, std::int64_t max) {
    return static_cast<std::size_t>(int_of(key, min, max));
  };
  http.io_threads = static_cast<int>(int_of("http.io.threads", 0, 64));
  if (http.io_threads == 0) http.io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  http.handler_threads = static_cast<int>(int_of("http.threads", 0, 1024));
  HttpLimits& limits = http.limits;
  limits.handler_queue = size_of("http.handler.queue", 1, 1'000'000);
  limits.max_connections = size_of("http.max.connections", 1, 1'000'000);
  limits.max_connections_per_ip = size_of("http.max.connections.per.ip", 1, 1'000'000);
  limits.parser.max_body_bytes = size_of("http.max.body.bytes", 64, 16 << 20);
  limits.parser.max_header_bytes = size_of("http.max.header.bytes", 256, 65535);
  limits.parser.max_request_line = size_of("http.max.request.line.bytes", 64, 65535);
  limits.parser.max_headers = size_of("http.max.headers", 1, 1000);
  limits.max_pipelined = size_of("http.max.pipelined", 1, 1000);
  limits.header_timeout = ms_of("http.header.timeout.ms");
  limits.body_timeout = ms_of("http.body.timeout.ms");
  limits.idle_timeout = ms_of("http.idle.timeout.ms");
  limits.write_timeout = ms_of("http.write.timeout.ms");
  config->drain_timeout = std::chrono::milliseconds(int_of("http.drain.timeout.ms", 0, 3'600'000));
  std::string error;
  if (!TrustedProxies::parse(settings.get("http.trusted.proxies"), &http.trusted_proxies, &error)) {
    throw StartupError(where("http.trusted.proxies") + ": " + error);
  }
  config->admin_failures_per_second = static_cast<int>(int_of("admin.auth.failures.per.sec", 1, 1'000'000));
}

// A relative path written in the config file means a place beside that file,
// wherever the server is started from. plugin.dir is a list: each folder is
// resolved, empty entries are dropped.
std::string resolve_against(const std::filesystem::path& folder, const std::string& key, const std::string& value) {
  auto resolve = [&](const std::string& path) {
    std::filesystem::path given(path);
    return given.is_absolute() ? path : (folder / given).lexically_normal().string();
  };
  if (key != "plugin.dir") return value.empty() ? value : resolve(value);
  std::string resolved;
  std::stringstream list(value);
  for (std::string entry; std::getline(list, entry, ':');) {
    if (entry.empty()) continue;
    resolved += (resolved.empty() ? "" : ":") + resolve(entry);
  }
  return resolved;
}

}  // namespace

std::string plugin_path_family(const std::string& key) {
  const std::string prefix = "plugin.", suffix = ".path";
  if (key.size() <= prefix.size() + suffix.size() || key.rfind(prefix, 0) != 0 ||
      key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return {};
  }
  return key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
}

Config load_config(const std::string& file, char** env, const std::string& exe_dir) {
  std::map<std::string, std::string> values;
  for (const KnownKey& known : known_keys()) values[known.key] = known.fallback;
  values["plugin.dir"] = exe_dir + "/../plugins";

  std::set<std::string> plugin_paths_from_file;
  std::set<std::string> file_keys;
  if (!file.empty()) {
    for (auto& [key, value] : read_properties(file)) {
      if (key == "plugin.dir" || !plugin_path_family(key).empty()) plugin_paths_from_file.insert(key);
      file_keys.insert(key);
      values[key] = value;
    }
  }
  auto vars = environment(env);
  for (auto& [key, value] : values) {
    auto it = vars.find(Settings::env_name(key));
    if (it != vars.end()) {
      value = it->second;
      plugin_paths_from_file.erase(key);
    }
  }
  // PLUGIN_<FAMILY>_PATH names an out-of-tree plugin without any config file.
  for (const auto& [name, value] : vars) {
    const std::string prefix = "PLUGIN_", suffix = "_PATH";
    if (name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string family = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
      for (char& c : family) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      values["plugin." + family + ".path"] = value;
      plugin_paths_from_file.erase("plugin." + family + ".path");
    }
  }
  for (const std::string& key : plugin_paths_from_file) {
    values[key] = resolve_against(std::filesystem::absolute(file).parent_path(), key, values[key]);
  }

  Config config;
  config.config_file = file;
  config.file_keys = std::move(file_keys);
  config.environment = std::move(vars);
  config.settings = Settings(std::move(values));
  const Settings& s = config.settings;
  parse_addr(s, &config);
  parse_http(s, &config);
  config.admin_token = s.get("preload.admin.token");
  if (config.admin_token.empty()) throw StartupError(where("preload.admin.token") + ": must not be empty");
  config.plugin_dir = s.get("plugin.dir");
  parse_roles(s, &config);
  for (StageKind stage : kAllStages) {
    std::string key = std::string("stage.") + stage_name(stage);
    std::string family = s.get(key);
    if (family.empty()) throw StartupError(where(key) + ": must name a backend family");
    config.stage_backend[static_cast<int>(stage)] = family;
  }
  require_int(s, "buy.rate.limit", 1, INT32_MAX);
  require_int(s, "buy.rate.window.sec", 1, 86400);
  require_int(s, "stock.cache.ttl.hour", 0, 24 * 365);
  require_int(s, "request.state.ttl.sec", 1, INT32_MAX);
  require_int(s, "outbox.claim.idle.ms", 1, 86400000);
  require_int(s, "outbox.max.deliveries", 1, 1000000);
  require_int(s, "worker.batch.size", 1, 100000);
  require_int(s, "worker.linger.ms", 0, 1000);
  require_int(s, "fault.crash.before.commit", 0, INT32_MAX);
  require_int(s, "fault.crash.before.outbox.ack", 0, INT32_MAX);
  require_int(s, "fault.crash.before.stock.return", 0, INT32_MAX);
  config.payment_timeout = std::chrono::seconds(require_int(s, "order.payment.timeout.sec", 1, 30 * 86400));
  config.expiry_scan_interval = std::chrono::milliseconds(require_int(s, "order.expiry.scan.ms", 10, 3'600'000));
  config.payment_webhook_secret = s.get("payment.webhook.secret");
  std::optional<LogFormat> format = parse_format(s.get("log.format"));
  if (!format) throw StartupError(where("log.format") + ": expected text or json, got '" + s.get("log.format") + "'");
  std::optional<LogLevel> level = parse_level(s.get("log.level"));
  if (!level) {
    throw StartupError(where("log.level") + ": expected debug, info, warning or error, got '" + s.get("log.level") + "'");
  }
  config.log_format = *format;
  config.log_level = *level;
  return config;
}

}  // namespace flashsale
