#include "host/declared_settings.h"

#include <cctype>
#include <map>

#include "host/startup_error.h"

namespace flashsale {

namespace {

// The key a variable of a prefix names: KAFKA_PRODUCER_LINGER_MS under
// kafka.producer. is kafka.producer.linger.ms.
std::string key_under_prefix(const std::string& prefix, const std::string& variable) {
  std::string rest = variable.substr(Settings::env_name(prefix).size());
  for (char& c : rest) c = c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return prefix + rest;
}

std::string where(const DeclaredSetting& setting) {
  std::string key = setting.spec.key;
  return key + " (" + Settings::env_name(key) + ", declared by the " + setting.family + " plugin)";
}

void check(const DeclaredSetting& setting, const Settings& settings) {
  const SettingSpec& spec = setting.spec;
  switch (spec.kind) {
    case SettingSpec::Kind::integer: {
      std::string error;
      settings.get_int(spec.key, 0, &error, spec.min, spec.max);
      if (!error.empty()) throw StartupError(error + " (declared by the " + setting.family + " plugin)");
      break;
    }
    case SettingSpec::Kind::required:
      if (settings.get(spec.key).empty()) throw StartupError(where(setting) + ": must not be empty");
      break;
    case SettingSpec::Kind::text:
    case SettingSpec::Kind::prefix:
      break;
  }
}

bool known_to_core(const std::string& key) {
  for (const KnownKey& known : known_keys()) {
    if (key == known.key) return true;
  }
  return key.rfind("plugin.", 0) == 0;
}

}  // namespace

void resolve_declared_settings(const std::vector<DeclaredSetting>& declared, Config* config) {
  Settings& settings = config->settings;
  std::map<std::string, const DeclaredSetting*> first;
  for (const DeclaredSetting& setting : declared) {
    const SettingSpec& spec = setting.spec;
    auto [earlier, fresh] = first.emplace(spec.key, &setting);
    if (!fresh) {
      if (std::string(earlier->second->spec.fallback) != spec.fallback || earlier->second->spec.kind != spec.kind) {
        throw StartupError(std::string(spec.key) + ": declared by the " + earlier->second->family + " and the " +
                           setting.family + " plugins with different defaults or kinds");
      }
      continue;
    }
    if (spec.kind == SettingSpec::Kind::prefix) {
      std::string variable_prefix = Settings::env_name(spec.key);
      for (const auto& [name, value] : config->environment) {
        if (name.size() > variable_prefix.size() && name.rfind(variable_prefix, 0) == 0) {
          settings.set(key_under_prefix(spec.key, name), value);
        }
      }
      continue;
    }
    auto variable = config->environment.find(Settings::env_name(spec.key));
    if (variable != config->environment.end()) {
      settings.set(spec.key, variable->second);
    } else if (!settings.has(spec.key)) {
      settings.set(spec.key, spec.fallback);
    }
    check(setting, settings);
  }
}

std::vector<std::string> unknown_key_warnings(const std::vector<DeclaredSetting>& declared, const Config& config) {
  std::vector<std::string> warnings;
  for (const std::string& key : config.file_keys) {
    bool known = known_to_core(key);
    for (const DeclaredSetting& setting : declared) {
      const SettingSpec& spec = setting.spec;
      bool prefix = spec.kind == SettingSpec::Kind::prefix;
      if (prefix ? key.rfind(spec.key, 0) == 0 : key == spec.key) known = true;
    }
    if (!known) {
      warnings.push_back("config file " + config.config_file + ": unknown key " + key +
                         " (neither core nor a loaded plugin reads it)");
    }
  }
  return warnings;
}

}  // namespace flashsale
