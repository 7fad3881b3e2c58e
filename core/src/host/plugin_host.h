// Loads backend families from shared objects and makes the six stages the
// config names. Each family is loaded once; every stage object holds its
// family (the library and its Backend) alive, so nothing is unloaded while
// anything it made still exists.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flashsale/plugin.h"
#include "host/config.h"

namespace flashsale {

struct Stages {
  std::shared_ptr<RateLimiter> ratelimit;
  std::shared_ptr<Admission> admission;
  std::shared_ptr<Outbox> outbox;
  std::shared_ptr<Relay> relay;
  std::shared_ptr<OrderStore> store;
  std::shared_ptr<Notifier> notifier;
  // The admission counts the rate limit itself (Admission::counts_rate_limit),
  // on the same Backend as the ratelimit stage.
  bool rate_limit_in_admission = false;
};

// A family is loaded from plugin.<family>.path when that is set, else from
// the one flashsale-*.so on plugin.dir (a ':' separated search path) whose
// descriptor names that family; two files claiming one family are refused.
struct FoundPlugin {
  std::string family;  // from the descriptor; from the file name (or plugin.<family>.path) when it does not load
  std::string path;
  std::uint32_t abi_version = 0;
  std::string error;   // why the host would refuse the file; empty when it loads
  std::string stages;  // the stages it provides, comma separated (when it loads)
  struct Key {
    std::string key, fallback, help;
    bool prefix = false;
  };
  std::vector<Key> keys;  // the keys it declares (when it loads)
  bool named = false;     // given by plugin.<family>.path rather than found on plugin.dir
};

// Every plugin the config makes visible: plugin.<family>.path files first,
// then each folder's flashsale-*.so (by name), in search path order. Each file
// is loaded and its descriptor read; no backend is made. Files on plugin.dir
// that load and claim a family another one there claims too get an error
// naming the other.
std::vector<FoundPlugin> find_plugins(const Config& config);

class PluginHost {
 public:
  // `services` is what the backends get: a logger (default: stderr) and the
  // metrics registry (default: a process-wide one that nobody serves); both
  // must outlive every object the backends make.
  explicit PluginHost(const Config& config, HostServices services = {});
  ~PluginHost();

  // Loads every family the config names, resolves and checks the keys they
  // declare, starts their backends and makes every stage. Throws
  // StartupError with one line naming the key or the file on any problem.
  Stages make_stages();

  // After make_stages: asks the family of each of `stages` (each family once)
  // whether it can be used now (Backend::ready), in stage order.
  struct Readiness {
    std::string family;
    std::string stages;  // the asked stages it serves, comma separated
    Status status;
  };
  std::vector<Readiness> ready(const std::vector<StageKind>& stages) const;

  // After make_stages: every key resolved (core's and the families'), as the
  // backends got them, and one line per config-file key nobody reads.
  const Settings& settings() const { return config_.settings; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  struct Family;  // a loaded library and its Backend

 private:
  // Loads the library of `family` (once) and checks its descriptor; `key`
  // is the setting that asked for it, named in the error when it is not found.
  std::shared_ptr<Family> open(const std::string& family, const std::string& key);
  void start(Family& family);  // makes its Backend from the resolved settings
  std::string plugin_path(const std::string& family, const std::string& key);

  Config config_;
  HostServices services_;
  std::map<std::string, std::shared_ptr<Family>> families_;
  std::vector<std::string> warnings_;
  std::optional<std::vector<FoundPlugin>> found_;  // the search path's plugins, scanned once when needed
};

}  // namespace flashsale
