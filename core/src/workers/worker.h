// A background loop that moves batches from one stage to the next. It backs
// off when a stage fails (a backend outage must not spin a core) and, on
// shutdown, keeps going until its source is empty or a deadline passes, so
// what was accepted before the stop moves on before the process exits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "flashsale/host_services.h"

namespace flashsale {

class Worker {
 public:
  // `linger`: see linger_for_more().
  Worker(std::string name, std::chrono::milliseconds linger);
  virtual ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Returns once the source was found empty (or `timeout` passed) and the
  // thread has exited. Safe to call when not started.
  void drain_and_stop(std::chrono::milliseconds timeout);

 protected:
  enum class Step { worked, idle, failed };
  // One batch. `idle` means the source had nothing; `failed` means a stage
  // answered with an error and the same work must be retried after a pause.
  virtual Step step() = 0;
  const std::string& name() const { return name_; }

  // After a read that returned a partial batch (0 < have < max), waits the
  // linger once and returns true: the caller then reads the rest without
  // waiting. Under load a batch, and so a round trip, a publication or a
  // transaction, carries many events instead of one or two, and the reader
  // is not woken once per event; when idle, an event waits `linger` longer.
  bool linger_for_more(std::size_t have, std::size_t max) const;

  // Waits `interval`, or less when a drain begins: for a worker that polls
  // a source on a schedule rather than blocking on it.
  void pause(std::chrono::milliseconds interval);

  // Through the process's logger, with this worker's name as the component.
  void log(LogLevel level, const std::string& message) const;

  // Microseconds since `start`, for the stage-call histograms.
  static std::int64_t elapsed_us(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  void run();

  std::string name_;
  const std::chrono::milliseconds linger_;
  std::thread thread_;
  std::atomic<bool> draining_{false};
  std::mutex pause_mutex_;
  std::condition_variable drain_begun_;
  std::atomic<std::int64_t> deadline_ns_{0};
};

}  // namespace flashsale
