// The admin endpoints' door: the X-Admin-Token compared in constant time, and
// a limit on wrong tokens per client address so the token cannot be guessed
// at line rate. A missing token counts as a wrong one. Past `max_failures`
// within a one-second window an address is refused 429 for a lockout of 1 s,
// doubled by each further lockout (up to 60 s) until the address has been
// quiet for a minute. During a lockout even the right token is refused, or
// guessing would go on behind the 429s.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/message.h"
#include "pipeline/counters.h"

namespace flashsale {

// Constant-time in the content of `given`, so timing does not reveal a prefix
// of `expected` (its length may show).
bool token_matches(std::string_view given, std::string_view expected) noexcept;

class AdminGuard {
 public:
  using Clock = std::function<std::int64_t()>;  // monotonic milliseconds
  using Log = std::function<void(const std::string& line)>;

  static constexpr std::int64_t kWindowMs = 1000;  // failures are counted per second
  static constexpr std::int64_t kFirstLockoutMs = 1000;
  static constexpr std::int64_t kMaxLockoutMs = 60000;
  // An address with no wrong token and no lockout for this long is forgotten,
  // and its next lockout is short again.
  static constexpr std::int64_t kQuietMs = 60000;
  static constexpr std::size_t kDefaultMaxTracked = 10000;

  // `counters` must outlive the guard. `clock` defaults to the steady clock;
  // `log` to one line on stderr per lockout, and is called under the guard's
  // lock (never twice at once). At most `max_tracked` addresses are
  // remembered; past that the one seen least recently is dropped, so an
  // attacker rotating addresses costs bounded memory (and gains nothing the
  // addresses themselves would not give it).
  explicit AdminGuard(std::string token, Counters* counters, int max_failures = 10, Clock clock = {}, Log log = {},
                      std::size_t max_tracked = kDefaultMaxTracked);

  AdminGuard(const AdminGuard&) = delete;
  AdminGuard& operator=(const AdminGuard&) = delete;

  // nullopt when `request` carries the right token and its client_ip is not
  // locked out; otherwise the answer: 401 unauthorized or 429
  // auth_rate_limited with Retry-After. Thread-safe. The right token while no
  // address is locked out takes no lock.
  std::optional<HttpResponse> check(const HttpRequest& request);

  std::size_t tracked() const;  // addresses remembered now

 private:
  struct Entry {
    std::int64_t window_start_ms = 0;
    int failures = 0;             // in the window that began at window_start_ms
    std::int64_t lockout_ms = 0;  // length of the last lockout; 0: none yet
    std::int64_t locked_until_ms = 0;
    std::int64_t last_seen_ms = 0;         // last wrong token or refused request
    std::list<std::string>::iterator age;  // its place in by_age_
  };

  // The slow path, under mutex_; logs a lockout it starts.
  std::optional<HttpResponse> check_locked(const std::string& address, bool right_token, std::int64_t now);
  Entry* find_or_add(const std::string& address, std::int64_t now);
  HttpResponse limited(std::int64_t retry_after_ms);

  const std::string token_;
  Counters* const counters_;
  const int max_failures_;
  const Clock clock_;
  const Log log_;
  const std::size_t max_tracked_;

  // The latest end of any lockout: before it, the right token must look its
  // address up; after it, nothing is locked and no lock is taken.
  std::atomic<std::int64_t> locked_until_max_ms_{0};

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> by_age_;  // addresses, least recently seen first
};

}  // namespace flashsale
