// The resolved configuration (file, then environment overrides) as the host
// hands it to a plugin. Keys are dotted lower case (`redis.addr`); the
// environment variable for a key is the key upper-cased with dots turned into
// underscores (`REDIS_ADDR`).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace flashsale {

class Settings {
 public:
  Settings() = default;
  explicit Settings(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  void set(const std::string& key, std::string value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string get(const std::string& key, const std::string& fallback = {}) const;

  // Integer value of key, or fallback when absent. Sets *error to a one-line
  // message naming the key when the value is not an integer in [min, max].
  std::int64_t get_int(const std::string& key, std::int64_t fallback, std::string* error, std::int64_t min = INT64_MIN,
                       std::int64_t max = INT64_MAX) const;

  const std::map<std::string, std::string>& values() const { return values_; }

  static std::string env_name(const std::string& key);

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace flashsale
