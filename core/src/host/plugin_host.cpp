#include "host/plugin_host.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include <boost/dll/shared_library.hpp>

#include "host/declared_settings.h"
#include "host/startup_error.h"
#include "host/stderr_logger.h"
#include "metrics/metrics_registry.h"

namespace flashsale {

struct PluginHost::Family {
  // Declared first, destroyed last: the library outlives the backend.
  boost::dll::shared_library library;
  const PluginDescriptor* descriptor = nullptr;  // in the library
  std::unique_ptr<Backend> backend;              // made once every family's settings are resolved
  std::string name;
  std::string path;
};

namespace {

const std::string kFilePrefix = "flashsale-", kFileSuffix = ".so";

std::vector<std::string> search_folders(const std::string& search_path) {
  std::vector<std::string> folders;
  std::stringstream list(search_path);
  for (std::string folder; std::getline(list, folder, ':');) {
    if (!folder.empty()) folders.push_back(folder);
  }
  return folders;
}

// Boost.DLL keeps only an error_code ("Bad file descriptor") when dlopen
// fails; the loader's own message (not an ELF file, an undefined symbol) comes
// from trying again. A failed dlopen leaves nothing loaded.
std::string loader_message(const std::string& path, const boost::dll::fs::error_code& ec) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    dlclose(handle);
    return ec.message();
  }
  const char* text = dlerror();
  std::string message = text != nullptr ? text : ec.message();
  if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);  // the file is named once, by the caller
  return message;
}

// Loads `path` now + local and finds its descriptor; nullptr with *error set
// (one line, without the file's name) when it is not a loadable plugin.
const PluginDescriptor* open_plugin(const std::string& path, boost::dll::shared_library* library, std::string* error) {
  boost::dll::fs::error_code ec;
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    *error = "cannot be loaded: " + loader_message(path, ec);
    return nullptr;
  }
  if (!library->has("flashsale_plugin")) {
    *error = "exports no flashsale_plugin symbol (not a flashsale plugin)";
    return nullptr;
  }
  return &library->get_alias<const PluginDescriptor>("flashsale_plugin");
}

// Why the host refuses a loaded descriptor whatever family it is for, or "".
std::string unusable(const PluginDescriptor& descriptor) {
  if (descriptor.abi_version != kPluginAbiVersion) {  // then nothing after the version can be trusted
    return "ABI version " + std::to_string(descriptor.abi_version) + ", this host needs version " +
           std::to_string(kPluginAbiVersion) + " (rebuild the plugin)";
  }
  if (descriptor.header_hash != kPluginHeaderHash) {
    char hashes[64];
    std::snprintf(hashes, sizeof hashes, "%016llx, this host's %016llx",
                  static_cast<unsigned long long>(descriptor.header_hash),
                  static_cast<unsigned long long>(kPluginHeaderHash));
    return "built against other plugin headers (hash " + std::string(hashes) +
           "; rebuild it against this host's headers)";
  }
  if (descriptor.family == nullptr || *descriptor.family == '\0') return "names no family in its descriptor";
  return {};
}

// Why the host refuses a loaded descriptor as `family`, or "".
std::string refusal(const PluginDescriptor& descriptor, const std::string& family) {
  std::string why = unusable(descriptor);
  if (!why.empty() || family == descriptor.family) return why;
  return "provides family '" + std::string(descriptor.family) + "', config asked for '" + family + "'";
}

}  // namespace

PluginHost::PluginHost(const Config& config, HostServices services) : config_(config), services_(services) {
  if (services_.logger == nullptr) services_.logger = &stderr_logger();
  if (services_.metrics == nullptr) {
    // A stage may outlive its host (the library stays loaded while a stage
    // lives), so the default registry lives as long as the process.
    static MetricsRegistry unserved(&stderr_logger());
    services_.metrics = &unserved;
  }
}
PluginHost::~PluginHost() = default;

std::string PluginHost::plugin_path(const std::string& family, const std::string& key) {
  std::string explicit_path = config_.settings.get("plugin." + family + ".path");
  if (!explicit_path.empty()) return explicit_path;
  if (!found_) found_ = find_plugins(config_);
  std::vector<const FoundPlugin*> claimants, broken;
  for (const FoundPlugin& plugin : *found_) {
    if (plugin.named || plugin.family != family) continue;
    bool usable = plugin.error.empty() || plugin.error.rfind("family '", 0) == 0;  // or claimed twice
    (usable ? claimants : broken).push_back(&plugin);
  }
  std::string where = key + " (" + Settings::env_name(key) + ")";
  if (claimants.size() > 1) {
    std::string paths;
    for (const FoundPlugin* plugin : claimants) paths += (paths.empty() ? "" : " and ") + plugin->path;
    throw StartupError(where + ": two plugins claim family '" + family + "': " + paths +
                       " (remove one, or name one with plugin." + family + ".path)");
  }
  if (claimants.size() == 1) return claimants[0]->path;
  // A file that would have been the family's but does not load says why.
  if (!broken.empty()) return broken[0]->path;
  std::vector<std::string> folders = search_folders(config_.plugin_dir);
  std::string searched;
  for (const std::string& folder : folders) searched += (searched.empty() ? "" : ", ") + folder;
  throw StartupError(where + ": unknown backend '" + family + "': no plugin of that family" +
                     (folders.empty() ? " (plugin.dir is empty)" : " in " + searched) + " and no plugin." + family +
                     ".path");
}

std::shared_ptr<PluginHost::Family> PluginHost::open(const std::string& family, const std::string& key) {
  auto found = families_.find(family);
  if (found != families_.end()) return found->second;

  std::string path = plugin_path(family, key);
  if (!std::filesystem::exists(path)) {
    throw StartupError("plugin " + path + ": file not found (named by plugin." + family + ".path)");
  }
  auto opened = std::make_shared<Family>();
  opened->name = family;
  opened->path = path;
  std::string error;
  opened->descriptor = open_plugin(path, &opened->library, &error);
  if (opened->descriptor != nullptr) error = refusal(*opened->descriptor, family);
  if (!error.empty()) throw StartupError("plugin " + path + ": " + error);
  families_.emplace(family, opened);
  return opened;
}

void PluginHost::start(Family& family) {
  // A started family stays loaded until the process exits: the libraries it
  // brings (libpq, librdkafka, OpenSSL) keep global state that unloading
  // would strand rather than free. RTLD_NOLOAD: only marks the loaded file.
  if (dlopen(family.path.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
    throw StartupError("plugin " + family.path + ": cannot be kept loaded: " + loader_message(family.path, {}));
  }
  std::string error;
  family.backend.reset(family.descriptor->make_backend(config_.settings, services_, &error));
  if (!family.backend) {
    throw StartupError("plugin " + family.path + ": backend '" + family.name +
                       "' did not start: " + (error.empty() ? "gave no reason" : error));
  }
}

std::vector<FoundPlugin> find_plugins(const Config& config) {
  std::vector<FoundPlugin> found;
  for (const auto& [key, value] : config.settings.values()) {
    std::string family = plugin_path_family(key);
    if (family.empty() || value.empty()) continue;
    FoundPlugin& plugin = found.emplace_back();
    plugin.family = family;
    plugin.path = value;
    plugin.named = true;
  }
  std::set<std::string> seen;  // a folder listed twice lists its files once
  for (const std::string& folder : search_folders(config.plugin_dir)) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
      std::string name = entry.path().filename().string();
      if (entry.is_regular_file(ec) && name.size() > kFilePrefix.size() + kFileSuffix.size() &&
          name.rfind(kFilePrefix, 0) == 0 &&
          name.compare(name.size() - kFileSuffix.size(), kFileSuffix.size(), kFileSuffix) == 0) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string path = folder + "/" + name;
      if (!seen.insert(std::filesystem::weakly_canonical(path, ec).string()).second) continue;
      FoundPlugin& plugin = found.emplace_back();
      plugin.family = name.substr(kFilePrefix.size(), name.size() - kFilePrefix.size() - kFileSuffix.size());
      plugin.path = path;
    }
  }
  for (FoundPlugin& plugin : found) {
    if (!std::filesystem::exists(plugin.path)) {
      plugin.error = "file not found";
      continue;
    }
    boost::dll::shared_library library;
    const PluginDescriptor* descriptor = open_plugin(plugin.path, &library, &plugin.error);
    if (descriptor == nullptr) continue;
    plugin.abi_version = descriptor->abi_version;
    plugin.error = plugin.named ? refusal(*descriptor, plugin.family) : unusable(*descriptor);
    if (!plugin.error.empty()) continue;
    plugin.family = descriptor->family;
    if (descriptor->stages != nullptr) plugin.stages = descriptor->stages;
    for (std::size_t i = 0; i < descriptor->setting_count; ++i) {
      const SettingSpec& spec = descriptor->settings[i];
      plugin.keys.push_back({spec.key, spec.fallback, spec.help, spec.kind == SettingSpec::Kind::prefix});
    }
  }
  // Two usable files on the search path claiming one family: neither is
  // taken (the host refuses the family), and each says which other claims it.
  for (FoundPlugin& plugin : found) {
    if (plugin.named || !plugin.error.empty()) continue;
    for (const FoundPlugin& other : found) {
      if (&other == &plugin || other.named || other.family != plugin.family || other.abi_version == 0) continue;
      if (!other.error.empty() && other.error.rfind("family '", 0) != 0) continue;
      plugin.error = "family '" + plugin.family + "' is also claimed by " + other.path;
      break;
    }
  }
  return found;
}

std::vector<PluginHost::Readiness> PluginHost::ready(const std::vector<StageKind>& stages) const {
  std::vector<Readiness> answers;
  for (StageKind stage : stages) {
    const std::string& family = config_.backend(stage);
    auto same = std::find_if(answers.begin(), answers.end(), [&](const Readiness& r) { return r.family == family; });
    if (same != answers.end()) {
      same->stages += std::string(",") + stage_name(stage);
      continue;
    }
    auto loaded = families_.find(family);
    Status status = loaded == families_.end() || !loaded->second->backend
                        ? Status(Code::internal, "not started")
                        : loaded->second->backend->ready();
    answers.push_back({family, stage_name(stage), status});
  }
  return answers;
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

  // Every library is loaded and checked before any backend starts, so a
  // broken file is reported as such, not as a side effect of an earlier
  // stage; and every family's keys are resolved before any of them reads its own.
  for (StageKind stage : kAllStages) open(config_.backend(stage), std::string("stage.") + stage_name(stage));
  std::vector<DeclaredSetting> declared;
  for (const auto& [name, family] : families_) {
    for (std::size_t i = 0; i < family->descriptor->setting_count; ++i) {
      declared.push_back({family->descriptor->settings[i], name});
    }
  }
  resolve_declared_settings(declared, &config_);
  warnings_ = unknown_key_warnings(declared, config_);
  for (const auto& [name, family] : families_) start(*family);
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
  stages.rate_limit_in_admission = config_.backend(StageKind::ratelimit) == config_.backend(StageKind::admit) &&
                                   stages.admission->counts_rate_limit();
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
                       "): " + (error.empty() ? "gave no reason" : error));
  }
  return std::shared_ptr<T>(raw, [family](T* object) { delete object; });
}

}  // namespace

}  // namespace flashsale
