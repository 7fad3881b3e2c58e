#include "flashsale/settings.h"

#include <cctype>
#include <charconv>

namespace flashsale {

std::string Settings::get(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::int64_t Settings::get_int(const std::string& key, std::int64_t fallback, std::string* error, std::int64_t min,
                               std::int64_t max) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    if (error != nullptr) {
      *error = key + " (" + env_name(key) + "): expected an integer";
      if (min != INT64_MIN || max != INT64_MAX) {
        *error += " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
      }
      *error += ", got '" + text + "'";
    }
    return fallback;
  }
  return value;
}

std::int64_t Settings::get_int(const SettingSpec& spec, std::string* error) const {
  std::int64_t fallback = 0;
  std::from_chars(spec.fallback, spec.fallback + std::char_traits<char>::length(spec.fallback), fallback);
  return get_int(spec.key, fallback, error, spec.min, spec.max);
}

std::string Settings::env_name(const std::string& key) {
  std::string name = key;
  for (char& c : name) c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace flashsale
