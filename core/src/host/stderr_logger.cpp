#include "host/stderr_logger.h"

#include "flashsale/clock.h"
#include "http/json.h"

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

std::optional<LogLevel> parse_level(std::string_view name) noexcept {
  for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
    if (name == level_name(level)) return level;
  }
  return std::nullopt;
}

std::optional<LogFormat> parse_format(std::string_view name) noexcept {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

std::string StderrLogger::line(LogFormat format, LogLevel level, std::string_view component,
                               std::string_view request_id, std::string_view message) {
  if (format == LogFormat::json) {
    JsonWriter json;
    json.field("ts", format_rfc3339(now_ms()))
        .field("level", level_name(level))
        .field("component", component)
        .field("msg", message);
    if (!request_id.empty()) json.field("request_id", request_id);
    return json.done();
  }
  std::string text = std::string("flashsale-server: ") + level_name(level) + ": ";
  text.append(component).append(": ").append(message);
  if (!request_id.empty()) text.append(" (request ").append(request_id).append(")");
  return text;
}

void StderrLogger::write(LogLevel level, const char* component, std::string_view request_id,
                         std::string_view message) noexcept {
  if (level < level_.load(std::memory_order_relaxed)) return;
  try {
    std::string text = line(format_.load(std::memory_order_relaxed), level, component, request_id, message) + "\n";
    std::fwrite(text.data(), 1, text.size(), out_);  // one write: whole lines from concurrent threads
  } catch (...) {  // out of memory: the event is lost, the caller goes on
  }
}

void StderrLogger::log(LogLevel level, const char* component, const std::string& message) noexcept {
  write(level, component, {}, message);
}

void StderrLogger::log_request(LogLevel level, const char* component, const std::string& request_id,
                               const std::string& message) noexcept {
  write(level, component, request_id, message);
}

void StderrLogger::configure(LogFormat format, LogLevel level) noexcept {
  format_.store(format, std::memory_order_relaxed);
  level_.store(level, std::memory_order_relaxed);
}

StderrLogger& stderr_logger() {
  static StderrLogger logger;
  return logger;
}

}  // namespace flashsale
