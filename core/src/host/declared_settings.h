// The keys the loaded plugins declare (SettingSpec), resolved the way core's
// own are: the environment variable over the config file over the declared
// default, each value checked at start-up with one line naming the key, its
// variable and the family that declares it.
#pragma once

#include <string>
#include <vector>

#include "host/config.h"

namespace flashsale {

struct DeclaredSetting {
  SettingSpec spec;
  std::string family;  // whose descriptor declares it
};

// Sets every declared key in config->settings and checks it; throws
// StartupError on the first bad value, or on a key declared by two families
// with different defaults (they would disagree on what an unset key means).
void resolve_declared_settings(const std::vector<DeclaredSetting>& declared, Config* config);

// The config file's keys that neither core nor a declared key (or prefix)
// knows, as one warning line each.
std::vector<std::string> unknown_key_warnings(const std::vector<DeclaredSetting>& declared, const Config& config);

}  // namespace flashsale
