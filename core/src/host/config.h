// The server's configuration: a properties file (`key = value`, `#` comments)
// overridden by environment variables, one per key (REDIS_ADDR overrides
// redis.addr). Every known key has a default and a check; a bad value throws
// StartupError naming the key and its variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/settings.h"
#include "http/http_server.h"

namespace flashsale {

enum class StageKind { ratelimit, admit, outbox, relay, persist, notify };
inline constexpr StageKind kAllStages[] = {StageKind::ratelimit, StageKind::admit,   StageKind::outbox,
                                           StageKind::relay,     StageKind::persist, StageKind::notify};
const char* stage_name(StageKind stage) noexcept;  // "admit", ...

struct KnownKey {
  const char* key;
  const char* fallback;
  const char* help;  // one line, used by --help and the README
};
// Every key the host and the in-tree plugins read.
const std::vector<KnownKey>& known_keys();

struct Config {
  Settings settings;  // every key resolved: defaults < file < environment

  std::string http_host;  // "" = every interface
  std::uint16_t http_port = 8080;
  HttpServerOptions http;                          // address, threads and every limit of the HTTP front
  std::chrono::milliseconds drain_timeout{10000};  // for requests in progress at a stop
  std::string admin_token;
  int admin_failures_per_second = 10;
  // The plugin search path: folders separated by ':', searched in order.
  // Relative entries from the config file are already resolved against its
  // folder; those from the environment are relative to the working directory.
  std::string plugin_dir;
  std::string stage_backend[6];  // indexed by StageKind
  bool role_api = true, role_relay = true, role_consumer = true, role_expirer = true;
  std::chrono::seconds payment_timeout{900};
  std::chrono::milliseconds expiry_scan_interval{1000};
  std::string payment_webhook_secret;  // empty: every payment is refused

  const std::string& backend(StageKind stage) const { return stage_backend[static_cast<int>(stage)]; }
};

// "mine" for the key plugin.mine.path (the file of a family), "" for any other.
std::string plugin_path_family(const std::string& key);

// `file` may be empty (defaults and environment only). `env` is the process
// environment (environ). `exe_dir` anchors the default plugin directory.
// Unknown keys in the file are reported through `warnings`. Relative
// plugin.dir and plugin.<family>.path values from the file are resolved
// against the file's folder.
Config load_config(const std::string& file, char** env, const std::string& exe_dir, std::vector<std::string>* warnings);

}  // namespace flashsale
