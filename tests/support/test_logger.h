// A Logger for tests: keeps every line it is given (and echoes it to stderr,
// so a failing test's output shows it). Thread-safe.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "flashsale/host_services.h"
#include "support/test_metrics.h"

namespace flashsale::test {

class TestLogger final : public Logger {
 public:
  void log(LogLevel, const char* component, const std::string& message) noexcept override {
    try {
      std::string line = std::string(component) + ": " + message;
      std::fprintf(stderr, "%s\n", line.c_str());
      std::lock_guard lock(mutex_);
      lines_.push_back(std::move(line));
    } catch (...) {
    }
  }
  void log_request(LogLevel level, const char* component, const std::string& request_id,
                   const std::string& message) noexcept override {
    log(level, component, message + " (request " + request_id + ")");
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  // This logger and the process's TestMetrics.
  HostServices services() { return HostServices{this, &test_metrics()}; }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// One per test process, for code that makes a backend directly.
inline TestLogger& test_logger() {
  static TestLogger logger;
  return logger;
}

}  // namespace flashsale::test
