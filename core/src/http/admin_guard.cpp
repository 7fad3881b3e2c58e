#include "http/admin_guard.h"

#include <algorithm>
#include <chrono>

#include "host/stderr_logger.h"

namespace flashsale {

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void log_to_stderr(const std::string& line) {
  stderr_logger().log(LogLevel::warning, "admin auth", line);
}

// The address as it may appear in a log line: whatever the connection layer
// took it from, it cannot start a line of its own.
std::string printable(std::string_view address) {
  std::string out(address.substr(0, 64));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

bool token_matches(std::string_view given, std::string_view expected) noexcept {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

AdminGuard::AdminGuard(std::string token, Counters* counters, int max_failures, Clock clock, Log log,
                       std::size_t max_tracked)
    : token_(std::move(token)),
      counters_(counters),
      max_failures_(max_failures),
      clock_(clock ? std::move(clock) : Clock(steady_ms)),
      log_(log ? std::move(log) : Log(log_to_stderr)),
      max_tracked_(std::max<std::size_t>(max_tracked, 1)) {}

std::optional<HttpResponse> AdminGuard::check(const HttpRequest& request) {
  const bool right_token = token_matches(request.header("X-Admin-Token"), token_);
  const std::int64_t now = clock_();
  if (right_token && now >= locked_until_max_ms_.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  return check_locked(request.client_ip, right_token, clock_());  // read again: in order under the lock
}

std::size_t AdminGuard::tracked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::optional<HttpResponse> AdminGuard::check_locked(const std::string& address, bool right_token, std::int64_t now) {
  auto found = entries_.find(address);
  if (right_token && found == entries_.end()) return std::nullopt;
  Entry* entry = found != entries_.end() ? &found->second : nullptr;
  if (entry != nullptr && now - std::max(entry->last_seen_ms, entry->locked_until_ms) >= kQuietMs) {
    // Quiet long enough: start over, as if never seen.
    std::list<std::string>::iterator age = entry->age;
    *entry = Entry();
    entry->age = age;
  }
  if (entry != nullptr && now < entry->locked_until_ms) {
    entry->last_seen_ms = now;
    by_age_.splice(by_age_.end(), by_age_, entry->age);
    return limited(entry->locked_until_ms - now);
  }
  if (right_token) return std::nullopt;

  bump(counters_->http.admin_auth_failures);
  if (entry == nullptr) entry = find_or_add(address, now);
  entry->last_seen_ms = now;
  by_age_.splice(by_age_.end(), by_age_, entry->age);
  if (entry->failures == 0 || now - entry->window_start_ms >= kWindowMs) {
    entry->window_start_ms = now;
    entry->failures = 0;
  }
  if (++entry->failures <= max_failures_) {
    return HttpResponse::error(401, "unauthorized", "missing or wrong X-Admin-Token");
  }
  entry->lockout_ms = entry->lockout_ms == 0 ? kFirstLockoutMs : std::min(entry->lockout_ms * 2, kMaxLockoutMs);
  entry->locked_until_ms = now + entry->lockout_ms;
  if (entry->locked_until_ms > locked_until_max_ms_.load(std::memory_order_relaxed)) {
    locked_until_max_ms_.store(entry->locked_until_ms, std::memory_order_release);
  }
  log_(std::to_string(entry->failures) + " wrong tokens from " + printable(address) +
       " in 1 s; refused for " + std::to_string(entry->lockout_ms / 1000) + " s");
  entry->failures = 0;
  return limited(entry->lockout_ms);
}

AdminGuard::Entry* AdminGuard::find_or_add(const std::string& address, std::int64_t now) {
  if (entries_.size() >= max_tracked_) {
    // The least recently seen address goes: the stalest, and under an attack
    // from many addresses, one the attacker has already moved on from.
    entries_.erase(by_age_.front());
    by_age_.pop_front();
  }
  by_age_.push_back(address);
  Entry& entry = entries_[address];
  entry.age = std::prev(by_age_.end());
  entry.last_seen_ms = now;
  return &entry;
}

HttpResponse AdminGuard::limited(std::int64_t retry_after_ms) {
  bump(counters_->http.admin_auth_limited);
  const std::int64_t seconds = std::max<std::int64_t>(1, (retry_after_ms + 999) / 1000);
  HttpResponse response = HttpResponse::error(429, "auth_rate_limited", "too many wrong admin tokens; retry later");
  response.headers.emplace_back("Retry-After", std::to_string(seconds));
  return response;
}

}  // namespace flashsale
