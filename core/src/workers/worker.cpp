#include "workers/worker.h"

#include <pthread.h>

#include <algorithm>

#include "host/stderr_logger.h"

namespace flashsale {

namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Worker::Worker(std::string name, std::chrono::milliseconds linger) : name_(std::move(name)), linger_(linger) {}

Worker::~Worker() {
  // Subclasses must call drain_and_stop() in their destructor: step() is
  // theirs and must not run while they are being destroyed.
  if (thread_.joinable()) std::terminate();
}

void Worker::start() {
  thread_ = std::thread([this] {
    // Named (at most 15 characters) so `top -H` and profilers tell the workers apart.
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    run();
  });
}

void Worker::drain_and_stop(std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) return;
  deadline_ns_ = steady_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  {
    std::lock_guard lock(pause_mutex_);
    draining_ = true;
  }
  drain_begun_.notify_all();
  thread_.join();
}

bool Worker::linger_for_more(std::size_t have, std::size_t max) const {
  if (linger_.count() <= 0 || have == 0 || have >= max || draining_) return false;
  std::this_thread::sleep_for(linger_);
  return true;
}

void Worker::pause(std::chrono::milliseconds interval) {
  std::unique_lock lock(pause_mutex_);
  drain_begun_.wait_for(lock, interval, [this] { return draining_.load(); });
}

void Worker::run() {
  using namespace std::chrono_literals;
  std::chrono::milliseconds backoff = 10ms;
  for (;;) {
    Step step_result = Step::failed;
    try {
      step_result = step();
    } catch (const std::exception& e) {  // second line of defence: stages do not throw
      log(LogLevel::error, std::string("unexpected exception: ") + e.what());
    }
    if (draining_ && (step_result == Step::idle || steady_ns() > deadline_ns_)) {
      if (step_result != Step::idle) log(LogLevel::warning, "stopped before its source was empty");
      return;
    }
    if (step_result == Step::failed) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
    } else {
      backoff = 10ms;
    }
  }
}

void Worker::log(LogLevel level, const std::string& message) const {
  stderr_logger().log(level, name_.c_str(), message);
}

}  // namespace flashsale
