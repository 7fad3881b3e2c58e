// The lanes of pipeline.h. A caller's Call lives on its stack: the lane's
// queue only points at it, and the caller returns once the I/O thread has
// handed it its outcome under the call's own mutex.
#include "redis/pipeline.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace flashsale::redis {

namespace {

// How long a failed connect makes a lane fail fast (as ConnectionPool).
constexpr std::chrono::milliseconds kConnectBackoff{100};

// A copy for one more failed call; without memory, the code alone.
Status copy_of(const Status& status) noexcept {
  try {
    return status;
  } catch (...) {
    return Status(status.code(), std::string());
  }
}

}  // namespace

struct Pipeline::Call {
  const std::vector<std::string>* argv = nullptr;
  Reply* reply = nullptr;
  FollowUp* follow_up = nullptr;
  Status* follow_up_status = nullptr;

  // Touched only by the I/O threads until `done`.
  Status status;
  bool following = false;  // argv is now the follow-up's
  std::vector<std::string> follow_up_argv;

  std::mutex mutex;
  std::condition_variable woken;
  bool done = false;
};

class Pipeline::Lane {
 public:
  Lane(Pipeline* owner, const Endpoint& endpoint) : owner_(owner), endpoint_(endpoint) {
    thread_ = std::thread([this] { run(); });
  }
  ~Lane() { stop(); }
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Queues the call, or completes it at once (unavailable) once stopping.
  void submit(Call* call) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(call);
        if (waiting_) ready_.notify_one();
        return;
      }
    }
    owner_->complete(call, Status(Code::unavailable, endpoint_.name + ": shutting down"), Reply());
  }

  // Refuses new calls; the I/O thread finishes or fails the queued ones.
  void request_stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    ready_.notify_one();
  }
  // Queues the calls together, so the I/O thread sends them in one batch.
  void submit_all(const std::vector<Call*>& calls) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.insert(queue_.end(), calls.begin(), calls.end());
        if (waiting_) ready_.notify_one();
        return;
      }
    }
    for (Call* call : calls)
      owner_->complete(call, Status(Code::unavailable, endpoint_.name + ": shutting down"), Reply());
  }

  void stop() {
    request_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    // Writes to a connection Redis closed must fail as I/O errors, not raise
    // SIGPIPE in a host that left it at its default. Blocked for this
    // thread's whole life, so the hot path makes no signal-mask calls.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    pthread_setname_np(pthread_self(), "redis-pipeline");  // 15 chars: what top and perf show

    std::vector<Call*> batch;
    bool was_idle = true;
    bool stopping = false;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (queue_.empty()) {
          if (stopping_) break;
          was_idle = true;
          waiting_ = true;
          ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
          waiting_ = false;
          if (queue_.empty()) break;  // stopping, nothing left
        }
        batch.swap(queue_);
        stopping = stopping_;
      }
      execute(batch, was_idle, stopping);
      was_idle = false;
      batch.clear();
    }
    connection_.reset();
  }

  // Writes the batch out, reads its replies in order and completes each call.
  void execute(const std::vector<Call*>& batch, bool was_idle, bool stopping) noexcept {
    std::size_t next = 0;  // the first call not completed yet
    try {
      Status ready = connect(was_idle, stopping);
      if (!ready.is_ok()) return fail(batch, 0, ready);
      for (const Call* call : batch) {
        Status appended = connection_->append(*call->argv);
        if (!appended.is_ok()) {
          connection_.reset();
          return fail(batch, 0, appended);
        }
      }
      for (; next < batch.size(); ++next) {
        Reply reply;
        Status status = connection_->read_reply(&reply);  // the first one writes the batch out
        if (connection_->broken()) {
          // Timed out or reset: whatever is still unanswered may or may not
          // have run. The next batch reconnects.
          connection_.reset();
          return fail(batch, next, status);
        }
        owner_->complete(batch[next], std::move(status), std::move(reply));
      }
    } catch (...) {
      connection_.reset();  // half-written or half-read: unusable
      fail(batch, next, Status(Code::internal, std::string()));
    }
  }

  // A usable connection, or why there is none. While stopping, a lost
  // connection is not reopened: what is left fails at once, so stop() waits
  // for at most one command timeout.
  Status connect(bool was_idle, bool stopping) {
    // An idle connection the server closed (it restarted, or timed us out)
    // is dropped before use, so no command fails for it.
    if (connection_ && (connection_->broken() || (was_idle && connection_->closed_by_server()))) {
      connection_.reset();
    }
    if (connection_) return Status::ok();
    if (stopping) return Status(Code::unavailable, endpoint_.name + ": shutting down");
    auto now = std::chrono::steady_clock::now();
    if (now < retry_after_) return last_connect_error_;
    Status error;
    connection_ = Connection::open(endpoint_, &error);
    if (connection_) return Status::ok();
    retry_after_ = now + kConnectBackoff;
    last_connect_error_ = error;
    return error;
  }

  void fail(const std::vector<Call*>& batch, std::size_t from, const Status& status) noexcept {
    for (std::size_t i = from; i < batch.size(); ++i) owner_->complete(batch[i], copy_of(status), Reply());
  }

  Pipeline* const owner_;
  const Endpoint endpoint_;

  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Call*> queue_;
  bool waiting_ = false;
  bool stopping_ = false;

  // The I/O thread's own.
  std::unique_ptr<Connection> connection_;
  std::chrono::steady_clock::time_point retry_after_{};
  Status last_connect_error_;

  std::thread thread_;  // last: starts once everything above exists
};

Pipeline::Pipeline(const Endpoint& endpoint, std::size_t connections) {
  if (connections == 0) connections = 1;
  lanes_.reserve(connections);
  for (std::size_t i = 0; i < connections; ++i) lanes_.push_back(std::make_unique<Lane>(this, endpoint));
}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::stop() {
  // Every lane first, so none reconnects while another is being joined.
  for (auto& lane : lanes_) lane->request_stop();
  for (auto& lane : lanes_) lane->stop();
}

std::size_t Pipeline::lane_of(std::string_view route) const {
  return lanes_.size() == 1 ? 0 : std::hash<std::string_view>{}(route) % lanes_.size();
}

void Pipeline::submit(std::string_view route, Call* call) {
  lanes_[lane_of(route)]->submit(call);
}

void Pipeline::command_all(const std::vector<Command>& commands, std::vector<Status>* statuses,
                           std::vector<Reply>* replies) {
  const std::size_t count = commands.size();
  statuses->assign(count, Status());
  replies->clear();
  replies->resize(count);
  std::unique_ptr<Call[]> calls(new Call[count]);
  std::vector<std::vector<Call*>> by_lane(lanes_.size());
  for (std::size_t i = 0; i < count; ++i) {
    calls[i].argv = &commands[i].argv;
    calls[i].reply = &(*replies)[i];
    by_lane[lane_of(commands[i].route)].push_back(&calls[i]);
  }
  std::size_t lane = 0;
  try {
    for (; lane < lanes_.size(); ++lane) {
      if (!by_lane[lane].empty()) lanes_[lane]->submit_all(by_lane[lane]);
    }
  } catch (...) {
    // Out of memory queueing: what was not queued fails here, and what was
    // queued is still waited for below, since the lanes point into `calls`.
    for (; lane < lanes_.size(); ++lane) {
      for (Call* call : by_lane[lane]) {
        call->status = Status(Code::internal, std::string());
        call->done = true;
      }
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::unique_lock lock(calls[i].mutex);
    calls[i].woken.wait(lock, [&] { return calls[i].done; });
    (*statuses)[i] = std::move(calls[i].status);
  }
}

Status Pipeline::command(std::string_view route, const std::vector<std::string>& argv, Reply* reply) {
  return run(route, argv, reply, nullptr, nullptr);
}

Status Pipeline::command(std::string_view route, const std::vector<std::string>& argv, Reply* reply,
                         FollowUp& follow_up, Status* follow_up_status) {
  return run(route, argv, reply, &follow_up, follow_up_status);
}

Status Pipeline::run(std::string_view route, const std::vector<std::string>& argv, Reply* reply, FollowUp* follow_up,
                     Status* follow_up_status) {
  Call call;
  call.argv = &argv;
  call.reply = reply;
  call.follow_up = follow_up;
  call.follow_up_status = follow_up_status;
  submit(route, &call);
  std::unique_lock lock(call.mutex);
  call.woken.wait(lock, [&] { return call.done; });
  return std::move(call.status);
}

void Pipeline::complete(Call* call, Status status, Reply reply) noexcept {
  if (call->following) {
    *call->follow_up_status = std::move(status);  // the follow-up's reply is not wanted
  } else {
    call->status = std::move(status);
    *call->reply = std::move(reply);
    if (call->follow_up != nullptr) {
      std::string route;
      if (call->follow_up->next(call->status, call->reply->get(), &route, &call->follow_up_argv)) {
        call->following = true;
        call->argv = &call->follow_up_argv;
        try {
          submit(route, call);
          return;  // completed again once the follow-up's reply is in
        } catch (...) {
          *call->follow_up_status = Status(Code::internal, std::string());
        }
      }
    }
  }
  std::lock_guard lock(call->mutex);
  call->done = true;
  call->woken.notify_one();  // under the lock: the caller may destroy the call as soon as it sees `done`
}

}  // namespace flashsale::redis
