// The sliding-window log of the memory rate limiter; see memory_ratelimit.h.
#include "memory_ratelimit.h"

#include <utility>

#include "flashsale/boundary.h"

namespace flashsale::memory {

MemoryRateLimiter::MemoryRateLimiter(std::int64_t limit, std::int64_t window_ms, Clock clock)
    : limit_(limit), window_ms_(window_ms), clock_(std::move(clock)), sweep_(window_ms) {}

Status MemoryRateLimiter::allow(const std::string& subject, bool* allowed) noexcept {
  return guarded("memory ratelimit", [&] {
    UnixMillis now = clock_();
    if (sweep_.claim(now)) drop_idle_subjects(now);

    subjects_.with_shard(subject, [&](auto& subjects) {
      Log& log = subjects[subject];
      while (!log.empty() && expired(log.front(), now)) log.pop_front();
      *allowed = static_cast<std::int64_t>(log.size()) < limit_;
      if (*allowed) log.push_back(now);
    });
    return Status::ok();
  });
}

void MemoryRateLimiter::drop_idle_subjects(UnixMillis now) {
  subjects_.for_each_shard([&](auto& subjects) {
    std::erase_if(subjects,
                  [&](const auto& subject) { return subject.second.empty() || expired(subject.second.back(), now); });
  });
}

std::size_t MemoryRateLimiter::subject_count() const {
  return subjects_.size();
}

}  // namespace flashsale::memory
