// The lanes of pipeline.h. A caller's Call lives on its stack: the lane's
// queue only points at it, and the caller returns once the I/O thread has
// handed it its outcome under the call's own mutex.
#include "redis/pipeline.h"

#include "redis/cluster.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
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
// Between two tries of a command Redis answered TRYAGAIN.
constexpr std::chrono::milliseconds kTryAgainPause{5};

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
  std::string route;
  const std::vector<std::string>* argv = nullptr;
  Reply* reply = nullptr;
  FollowUp* follow_up = nullptr;
  Status* follow_up_status = nullptr;

  // Touched only by the I/O threads until `done`.
  Status status;
  int redirects = 0;
  bool asking = false;          // send ASKING first (an ASK redirect)
  std::uint64_t connection = 0;  // the lane connection that answered last (FollowUp::same_connection)
  bool following = false;  // argv and route are now the follow-up's
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
    try {
      sent_.clear();
      sent_.reserve(batch.size());  // so the loop below cannot throw half-way
      Status ready = connect(was_idle, stopping);
      if (!ready.is_ok()) return fail(batch, 0, ready);
    } catch (...) {
      connection_.reset();
      return fail(batch, 0, Status(Code::internal, std::string()));
    }
    for (Call* call : batch) {
      if (call->following && call->follow_up->same_connection() && call->connection != connection_number_) {
        owner_->complete(call, lost_before_follow_up(), Reply());
        continue;
      }
      sent_.push_back(call);
    }
    try {
      static const std::vector<std::string> kAsking{"ASKING"};
      for (const Call* call : sent_) {
        Status appended = call->asking ? connection_->append(kAsking) : Status::ok();
        if (appended.is_ok()) appended = connection_->append(*call->argv);
        if (!appended.is_ok()) {
          connection_.reset();
          return fail(sent_, 0, appended);
        }
      }
    } catch (...) {
      connection_.reset();  // half-written: unusable
      return fail(sent_, 0, Status(Code::internal, std::string()));
    }
    read_replies();
  }

  Status lost_before_follow_up() const noexcept {
    try {
      return Status(Code::unavailable, endpoint_.name + ": the connection was lost before a follow-up");
    } catch (...) {
      return Status(Code::unavailable, std::string());
    }
  }

  // Reads the replies of sent_ in order and completes each call.
  void read_replies() noexcept {
    std::size_t next = 0;  // the first call not completed yet
    try {
      const std::vector<Call*>& batch = sent_;
      for (; next < batch.size(); ++next) {
        Reply reply;
        // The first read writes the batch out. ASKING's own +OK is dropped.
        Status status = batch[next]->asking ? connection_->read_reply(&reply) : Status::ok();
        if (!connection_->broken()) status = connection_->read_reply(&reply);
        if (connection_->broken()) {
          // Timed out or reset: whatever is still unanswered may or may not
          // have run. The next batch reconnects.
          connection_.reset();
          owner_->topology_.request_refresh();  // a dead master's slots move to its replica
          return fail(batch, next, status);
        }
        batch[next]->connection = connection_number_;
        owner_->complete(batch[next], std::move(status), std::move(reply));
      }
    } catch (...) {
      connection_.reset();  // half-written or half-read: unusable
      fail(sent_, next, Status(Code::internal, std::string()));
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
    if (connection_) {
      ++connection_number_;
      return Status::ok();
    }
    owner_->topology_.request_refresh();
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
  std::uint64_t connection_number_ = 0;  // of connection_: one more per connection opened
  std::vector<Call*> sent_;              // the calls of the batch being written and read
  std::chrono::steady_clock::time_point retry_after_{};
  Status last_connect_error_;

  std::thread thread_;  // last: starts once everything above exists
};

// One node's lanes.
struct Pipeline::Node {
  std::vector<std::unique_ptr<Lane>> lanes;
};

Pipeline::Pipeline(Topology& topology, std::size_t connections)
    : topology_(topology),
      connections_(connections == 0 ? 1 : connections),
      nodes_(new std::atomic<Node*>[Topology::kMaxNodes]) {
  for (std::size_t i = 0; i < Topology::kMaxNodes; ++i) nodes_[i].store(nullptr, std::memory_order_relaxed);
}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::stop() {
  std::lock_guard lock(nodes_mutex_);
  stopping_ = true;
  // Every lane first, so none reconnects while another is being joined.
  for (auto& node : owned_) {
    for (auto& lane : node->lanes) lane->request_stop();
  }
  for (auto& node : owned_) {
    for (auto& lane : node->lanes) lane->stop();
  }
}

Pipeline::Lane* Pipeline::lane_of(int node_index, std::string_view route) {
  auto index = static_cast<std::size_t>(node_index);
  Node* node = nodes_[index].load(std::memory_order_acquire);
  if (node == nullptr) {
    std::lock_guard lock(nodes_mutex_);
    if (stopping_) return nullptr;
    node = nodes_[index].load(std::memory_order_relaxed);
    if (node == nullptr) {
      auto started = std::make_unique<Node>();
      for (std::size_t i = 0; i < connections_; ++i) {
        started->lanes.push_back(std::make_unique<Lane>(this, topology_.endpoint(node_index)));
      }
      node = started.get();
      owned_.push_back(std::move(started));
      nodes_[index].store(node, std::memory_order_release);
    }
  }
  std::size_t lanes = node->lanes.size();
  return node->lanes[lanes == 1 ? 0 : std::hash<std::string_view>{}(route) % lanes].get();
}

void Pipeline::submit(Call* call, int node) {
  if (node < 0) node = topology_.node_for(call->route);
  if (node == Topology::kNoNode) {
    topology_.request_refresh();
    complete(call,
             Status(Code::unavailable, "redis cluster: no node serves slot " + std::to_string(key_slot(call->route))),
             Reply());
    return;
  }
  Lane* lane = lane_of(node, call->route);
  if (lane == nullptr) {
    complete(call, Status(Code::unavailable, "redis: shutting down"), Reply());
    return;
  }
  lane->submit(call);
}

void Pipeline::command_all(const std::vector<Command>& commands, std::vector<Status>* statuses,
                           std::vector<Reply>* replies) {
  const std::size_t count = commands.size();
  statuses->assign(count, Status());
  replies->clear();
  replies->resize(count);
  std::unique_ptr<Call[]> calls(new Call[count]);
  std::vector<std::pair<Lane*, std::vector<Call*>>> by_lane;
  std::size_t queued = 0;  // calls handed to a lane or completed
  try {
    for (std::size_t i = 0; i < count; ++i) {
      calls[i].route = commands[i].route;
      calls[i].argv = &commands[i].argv;
      calls[i].reply = &(*replies)[i];
    }
    for (; queued < count; ++queued) {
      Call* call = &calls[queued];
      int node = topology_.node_for(call->route);
      Lane* lane = node == Topology::kNoNode ? nullptr : lane_of(node, call->route);
      if (lane == nullptr) {
        submit(call);  // fails it, as command() would
        continue;
      }
      auto group = std::find_if(by_lane.begin(), by_lane.end(), [&](const auto& entry) { return entry.first == lane; });
      if (group == by_lane.end()) {
        by_lane.emplace_back(lane, std::vector<Call*>());
        group = by_lane.end() - 1;
      }
      group->second.push_back(call);
    }
  } catch (...) {
    // Out of memory grouping: what was not grouped fails here.
    for (std::size_t i = queued; i < count; ++i) {
      calls[i].status = Status(Code::internal, std::string());
      calls[i].done = true;
    }
  }
  for (auto& [lane, group] : by_lane) lane->submit_all(group);
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
  const auto deadline = std::chrono::steady_clock::now() + topology_.endpoint(0).command_timeout;
  for (;;) {
    Call call;
    call.route = std::string(route);
    call.argv = &argv;
    call.reply = reply;
    call.follow_up = follow_up;
    call.follow_up_status = follow_up_status;
    submit(&call);
    std::unique_lock lock(call.mutex);
    call.woken.wait(lock, [&] { return call.done; });
    // TRYAGAIN: a slot migration split the command's keys over two nodes for
    // a moment; nothing ran. Retried until the migration moved them all.
    if (!is_redis_error(call.status, "TRYAGAIN") || std::chrono::steady_clock::now() >= deadline) {
      return std::move(call.status);
    }
    lock.unlock();
    std::this_thread::sleep_for(kTryAgainPause);
  }
}

bool Pipeline::redirected(Call* call, const Status& status) noexcept {
  Redirect redirect;
  if (!topology_.cluster() || call->redirects >= kMaxRedirects) return false;
  try {
    if (!parse_redirect(status, &redirect)) return false;
    if (!redirect.ask) topology_.moved(redirect.slot, redirect.to);
    int node = topology_.node_at(redirect.to);
    if (node == Topology::kNoNode) return false;
    ++call->redirects;
    call->asking = redirect.ask;
    submit(call, node);
    return true;
  } catch (...) {
    return false;  // no memory: the caller gets the redirect as an error
  }
}

void Pipeline::complete(Call* call, Status status, Reply reply) noexcept {
  call->asking = false;
  if (redirected(call, status)) return;
  if (call->following) {
    std::string route;
    bool more = call->follow_up->then(status, reply.get(), &route, &call->follow_up_argv);
    *call->follow_up_status = std::move(status);  // the follow-up's reply went to then()
    if (more) {
      call->redirects = 0;
      try {
        call->route = std::move(route);
        submit(call);
        return;
      } catch (...) {
        *call->follow_up_status = Status(Code::internal, std::string());
      }
    }
  } else {
    call->status = std::move(status);
    *call->reply = std::move(reply);
    if (call->follow_up != nullptr) {
      std::string route;
      if (call->follow_up->next(call->status, call->reply->get(), &route, &call->follow_up_argv)) {
        call->following = true;
        call->argv = &call->follow_up_argv;
        call->redirects = 0;
        try {
          call->route = std::move(route);
          submit(call);
          return;  // completed again once the follow-up's reply is in
        } catch (...) {
          *call->follow_up_status = Status(Code::internal, std::string());
        }
      }
    }
  }
  wake(call);
}

void Pipeline::wake(Call* call) noexcept {
  std::lock_guard lock(call->mutex);
  call->done = true;
  call->woken.notify_one();  // under the lock: the caller may destroy the call as soon as it sees `done`
}

}  // namespace flashsale::redis
