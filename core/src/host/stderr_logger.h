// The host's Logger: one line per event on stderr,
// `flashsale-server: <level>: <component>: <message>`, written whole so lines
// from many threads never interleave.
#pragma once

#include "flashsale/host_services.h"

namespace flashsale {

class StderrLogger final : public Logger {
 public:
  void log(LogLevel level, const char* component, const std::string& message) noexcept override;
};

// The process's one StderrLogger.
Logger& stderr_logger();

const char* level_name(LogLevel level) noexcept;  // "debug", "info", "warning", "error"

}  // namespace flashsale
