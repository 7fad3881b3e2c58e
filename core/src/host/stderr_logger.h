// The host's Logger: one line per event on stderr, written whole so lines
// from many threads never interleave. log.format = text gives
// `flashsale-server: <level>: <component>: <message>`; json gives one object
// per line: {"ts","level","component","msg"[,"request_id"]}. Events below
// log.level are dropped.
#pragma once

#include <atomic>
#include <cstdio>
#include <optional>
#include <string_view>

#include "flashsale/host_services.h"

namespace flashsale {

enum class LogFormat : std::uint8_t { text, json };

class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(std::FILE* out = stderr) : out_(out) {}

  void log(LogLevel level, const char* component, const std::string& message) noexcept override;
  void log_request(LogLevel level, const char* component, const std::string& request_id,
                   const std::string& message) noexcept override;

  // Safe to call while other threads log.
  void configure(LogFormat format, LogLevel level) noexcept;

  // The line an event becomes (without its newline).
  static std::string line(LogFormat format, LogLevel level, std::string_view component, std::string_view request_id,
                          std::string_view message);

 private:
  void write(LogLevel level, const char* component, std::string_view request_id, std::string_view message) noexcept;

  std::FILE* out_;
  std::atomic<LogFormat> format_{LogFormat::text};
  std::atomic<LogLevel> level_{LogLevel::info};
};

// The process's one StderrLogger: every part of the host and every plugin
// logs through it.
StderrLogger& stderr_logger();

const char* level_name(LogLevel level) noexcept;  // "debug", "info", "warning", "error"
std::optional<LogLevel> parse_level(std::string_view name) noexcept;
std::optional<LogFormat> parse_format(std::string_view name) noexcept;

}  // namespace flashsale
