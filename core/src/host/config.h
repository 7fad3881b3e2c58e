// The server's configuration: a properties file (`key = value`, `#` comments)
// overridden by environment variables, one per key (REDIS_ADDR overrides
// redis.addr). Every known key has a default and a check; a bad value throws
// StartupError naming the key and its variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "flashsale/settings.h"
#include "host/stderr_logger.h"
#include "http/http_server.h"

namespace flashsale {

enum class StageKind { ratelimit, admit, outbox, relay, persist, notify };
inline constexpr StageKind kAllStages[] = {StageKind::ratelimit, StageKind::admit,   StageKind::outbox,
                                           StageKind::relay,     StageKind::persist, StageKind::notify};
const char* stage_name(StageKind stage) noexcept;  // "admit", ...

// Core's keys: what the host and the stage contracts read (each family
// declares its own in its descriptor).
using KnownKey = SettingSpec;
const std::vector<KnownKey>& known_keys();

struct Config {
  Settings settings;  // every key resolved: defaults < file < environment

  std::string config_file;              // "" when none
  std::set<std::string> file_keys;      // every key the file sets
  std::map<std::string, std::string> environment;  // the process's, for the keys plugins declare

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
  LogFormat log_format = LogFormat::text;
  LogLevel log_level = LogLevel::info;

  const std::string& backend(StageKind stage) const { return stage_backend[static_cast<int>(stage)]; }
};

// "mine" for the key plugin.mine.path (the file of a family), "" for any other.
std::string plugin_path_family(const std::string& key);

// `file` may be empty (defaults and environment only). `env` is the process
// environment (environ). `exe_dir` anchors the default plugin directory.
// Core's keys are resolved and checked here; every other key of the file is
// kept for the plugins, whose declared keys the plugin host resolves and
// checks when it loads them (and reports the keys nobody declares). Relative
// plugin.dir and plugin.<family>.path values from the file are resolved
// against the file's folder.
Config load_config(const std::string& file, char** env, const std::string& exe_dir);

}  // namespace flashsale
