// The resolved configuration (file, then environment overrides) as the host
// hands it to a plugin, and how a plugin declares the keys it reads. Keys are
// dotted lower case (`redis.addr`); the environment variable for a key is the
// key upper-cased with dots turned into underscores (`REDIS_ADDR`).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace flashsale {

// A key a backend reads, declared in its PluginDescriptor. The host fills in
// the default when the key is not set, applies the key's environment
// variable, refuses a bad value at start-up with one line naming the key, and
// lists the key in --help; a key no loaded plugin declares is reported as
// unknown. So a backend reads its keys without defaults of its own.
struct SettingSpec {
  enum class Kind : std::uint8_t {
    text,      // any value
    required,  // text that must not be empty
    integer,   // an integer in [min, max]
    prefix,    // every key starting with `key` (which ends in '.'), e.g. kafka.producer.linger.ms
  };
  const char* key;
  const char* fallback;  // the default, as text ("" for none)
  const char* help;      // one line
  Kind kind = Kind::text;
  std::int64_t min = 0;
  std::int64_t max = 0;

  static constexpr SettingSpec text(const char* key, const char* fallback, const char* help) {
    return {key, fallback, help, Kind::text};
  }
  static constexpr SettingSpec required(const char* key, const char* fallback, const char* help) {
    return {key, fallback, help, Kind::required};
  }
  static constexpr SettingSpec integer(const char* key, const char* fallback, std::int64_t min, std::int64_t max,
                                       const char* help) {
    return {key, fallback, help, Kind::integer, min, max};
  }
  // The variable of a prefix is its key's variable: KAFKA_PRODUCER_<PROPERTY>
  // sets kafka.producer.<property> (underscores read back as dots).
  static constexpr SettingSpec prefix(const char* key, const char* help) { return {key, "", help, Kind::prefix}; }
};

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

  // A declared key's value: as above, with the declared default and range.
  std::string get(const SettingSpec& spec) const { return get(spec.key, spec.fallback); }
  std::int64_t get_int(const SettingSpec& spec, std::string* error) const;

  const std::map<std::string, std::string>& values() const { return values_; }

  static std::string env_name(const std::string& key);

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace flashsale
