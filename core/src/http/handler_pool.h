// Threads for the handlers that may block on a backend, fed from one bounded
// queue: when it is full the caller answers 503 at once instead of letting
// requests pile up without limit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flashsale {

class HandlerPool {
 public:
  using Job = std::function<void()>;

  HandlerPool(int threads, std::size_t max_queued);
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // False (and `job` untouched) when the queue is full or the pool stopped.
  bool submit(Job& job);

  // Drops what has not started, waits for what has, joins the threads.
  void stop();

 private:
  void run();

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flashsale
