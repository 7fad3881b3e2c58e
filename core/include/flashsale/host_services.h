// What the host hands a backend when it makes it: services the plugin uses
// instead of its own (a plugin never writes to stderr itself). The host owns
// them; they outlive every object the family makes.
#pragma once

#include <cstdint>
#include <string>

#include "flashsale/metrics.h"

namespace flashsale {

enum class LogLevel : std::uint8_t { debug, info, warning, error };

// Thread-safety: may be called from any thread at once. Never throws.
class Logger {
 public:
  // One event: `component` names the part of the plugin ("kafka consumer"),
  // `message` is one line without a trailing newline.
  virtual void log(LogLevel level, const char* component, const std::string& message) noexcept = 0;
  // The same, about one request: the JSON log format carries `request_id`
  // as a field of its own.
  virtual void log_request(LogLevel level, const char* component, const std::string& request_id,
                           const std::string& message) noexcept = 0;

 protected:
  ~Logger() = default;
};

struct HostServices {
  Logger* logger = nullptr;    // never null in what the host passes
  Metrics* metrics = nullptr;  // never null in what the host passes
};

}  // namespace flashsale
