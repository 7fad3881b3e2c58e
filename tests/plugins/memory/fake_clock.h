// A clock the memory family's tests move by hand, so TTLs, windows and idle
// subjects are checked without sleeping.
#pragma once

#include <atomic>
#include <memory>

#include "memory/memory_clock.h"

namespace flashsale::memory::test {

class FakeClock {
 public:
  explicit FakeClock(UnixMillis start = 1'700'000'000'000) : now_(std::make_shared<std::atomic<UnixMillis>>(start)) {}

  Clock clock() const {
    return [now = now_] { return now->load(); };
  }
  UnixMillis now() const { return now_->load(); }
  void advance(std::int64_t ms) { *now_ += ms; }

 private:
  std::shared_ptr<std::atomic<UnixMillis>> now_;
};

}  // namespace flashsale::memory::test
