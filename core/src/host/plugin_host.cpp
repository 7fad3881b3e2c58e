#include "host/plugin_host.h"

#include <algorithm>
#include <filesystem>

#include <boost/dll/shared_library.hpp>

#include "host/startup_error.h"

namespace flashsale {

struct PluginHost::Family {
  // Declared first, destroyed last: the library outlives the backend.
  boost::dll::shared_library library;
  std::unique_ptr<Backend> backend;
  std::string name;
  std::string path;
};

PluginHost::PluginHost(const Config& config) : config_(config) {}
PluginHost::~PluginHost() = default;

std::string PluginHost::plugin_path(const std::string& family, const std::string& key) const {
  std::string explicit_path = config_.settings.get("plugin." + family + ".path");
  if (!explicit_path.empty()) return explicit_path;
  bool in_tree = std::any_of(std::begin(kInTreeFamilies), std::end(kInTreeFamilies),
                             [&](const char* name) { return family == name; });
  if (!in_tree) {
    throw StartupError(key + " (" + Settings::env_name(key) + "): unknown backend '" + family +
                       "' (in-tree: memory, sqlite, redis, kafka; another needs plugin." + family + ".path)");
  }
  return config_.plugin_dir + "/flashsale-" + family + ".so";
}

std::shared_ptr<PluginHost::Family> PluginHost::load(const std::string& family, const std::string& key) {
  auto found = families_.find(family);
  if (found != families_.end()) return found->second;

  std::string path = plugin_path(family, key);
  if (!std::filesystem::exists(path)) {
    throw StartupError("plugin " + path + ": file not found (named by " + key + " = " + family + ")");
  }
  auto loaded = std::make_shared<Family>();
  loaded->name = family;
  loaded->path = path;
  boost::dll::fs::error_code ec;
  loaded->library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    throw StartupError("plugin " + path + ": cannot be loaded: " + ec.message() + " (" +
                       boost::dll::shared_library::suffix().string() + " built for this host?)");
  }
  if (!loaded->library.has("flashsale_plugin")) {
    throw StartupError("plugin " + path + ": exports no flashsale_plugin symbol (not a flashsale plugin)");
  }
  const auto& descriptor = loaded->library.get_alias<const PluginDescriptor>("flashsale_plugin");
  if (descriptor.abi_version != kPluginAbiVersion) {
    throw StartupError("plugin " + path + ": ABI version " + std::to_string(descriptor.abi_version) +
                       ", this host needs version " + std::to_string(kPluginAbiVersion) + " (rebuild the plugin)");
  }
  if (descriptor.family == nullptr || family != descriptor.family) {
    throw StartupError("plugin " + path + ": provides family '" +
                       std::string(descriptor.family ? descriptor.family : "") + "', config asked for '" + family +
                       "'");
  }
  std::string error;
  loaded->backend.reset(descriptor.make_backend(config_.settings, &error));
  if (!loaded->backend) {
    throw StartupError("plugin " + path + ": backend '" + family + "' did not start: " + error);
  }
  families_.emplace(family, loaded);
  return loaded;
}

namespace {

// Wraps a plugin-made object so that its deleter keeps the family alive.
template <typename T, typename Make>
std::shared_ptr<T> make_stage(const std::shared_ptr<PluginHost::Family>& family, StageKind stage, Make make);

}  // namespace

Stages PluginHost::make_stages() {
  auto same_family = [&](StageKind a, StageKind b) {
    if (config_.backend(a) != config_.backend(b)) {
      throw StartupError(
          std::string("stage.") + stage_name(b) + " (" + Settings::env_name(std::string("stage.") + stage_name(b)) +
          "): must be the same backend family as stage." + stage_name(a) + " ('" + config_.backend(a) + "'), got '" +
          config_.backend(b) + "': admission, its outbox and its compensation are atomic only within one family");
    }
  };
  same_family(StageKind::admit, StageKind::outbox);
  same_family(StageKind::admit, StageKind::notify);

  // Every library is loaded and checked before any stage is made, so a broken
  // file is reported as such, not as a side effect of an earlier stage.
  for (StageKind stage : kAllStages) load(config_.backend(stage), std::string("stage.") + stage_name(stage));
  auto family_of = [&](StageKind stage) { return families_.at(config_.backend(stage)); };
  Stages stages;
  stages.ratelimit = make_stage<RateLimiter>(family_of(StageKind::ratelimit), StageKind::ratelimit,
                                             [](Backend& b, std::string* e) { return b.make_ratelimit(e); });
  stages.admission = make_stage<Admission>(family_of(StageKind::admit), StageKind::admit,
                                           [](Backend& b, std::string* e) { return b.make_admission(e); });
  stages.outbox = make_stage<Outbox>(family_of(StageKind::outbox), StageKind::outbox,
                                     [](Backend& b, std::string* e) { return b.make_outbox(e); });
  stages.relay = make_stage<Relay>(family_of(StageKind::relay), StageKind::relay,
                                   [](Backend& b, std::string* e) { return b.make_relay(e); });
  stages.store = make_stage<OrderStore>(family_of(StageKind::persist), StageKind::persist,
                                        [](Backend& b, std::string* e) { return b.make_order_store(e); });
  stages.notifier = make_stage<Notifier>(family_of(StageKind::notify), StageKind::notify,
                                         [](Backend& b, std::string* e) { return b.make_notifier(e); });
  stages.rate_limit_in_admission =
      config_.backend(StageKind::ratelimit) == config_.backend(StageKind::admit) && stages.admission->counts_rate_limit();
  return stages;
}

namespace {

template <typename T, typename Make>
std::shared_ptr<T> make_stage(const std::shared_ptr<PluginHost::Family>& family, StageKind stage, Make make) {
  std::string error;
  T* raw = make(*family->backend, &error);
  if (raw == nullptr) {
    std::string key = std::string("stage.") + stage_name(stage);
    throw StartupError(key + " (" + Settings::env_name(key) + "): backend '" + family->name + "' (" + family->path +
                       "): " + error);
  }
  return std::shared_ptr<T>(raw, [family](T* object) { delete object; });
}

}  // namespace

}  // namespace flashsale
