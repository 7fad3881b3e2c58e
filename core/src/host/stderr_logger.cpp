#include "host/stderr_logger.h"

#include <cstdio>

namespace flashsale {

const char* level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "error";
}

void StderrLogger::log(LogLevel level, const char* component, const std::string& message) noexcept {
  try {
    std::string line = std::string("flashsale-server: ") + level_name(level) + ": " + component + ": " + message + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);  // one write: whole lines from concurrent threads
  } catch (...) {  // out of memory: the event is lost, the caller goes on
  }
}

Logger& stderr_logger() {
  static StderrLogger logger;
  return logger;
}

}  // namespace flashsale
