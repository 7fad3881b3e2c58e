// The pool of connection_pool.h.
#include "redis/connection_pool.h"

#include <utility>

namespace flashsale::redis {

namespace {
// How long a failed connect makes later callers fail fast.
constexpr std::chrono::milliseconds kConnectBackoff{100};
}  // namespace

ConnectionPool::ConnectionPool(Endpoint endpoint, std::size_t max_idle)
    : endpoint_(std::move(endpoint)), max_idle_(max_idle) {}

Status ConnectionPool::take(std::unique_ptr<Connection>* out) {
  {
    std::lock_guard lock(mutex_);
    // A connection the server closed while idle (say it restarted) is
    // dropped here, so no request fails for it.
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->closed_by_server()) continue;
      *out = std::move(connection);
      return Status::ok();
    }
    if (std::chrono::steady_clock::now() < retry_after_) return last_connect_error_;
  }
  Status error;
  *out = Connection::open(endpoint_, &error);
  if (*out) return Status::ok();
  std::lock_guard lock(mutex_);
  retry_after_ = std::chrono::steady_clock::now() + kConnectBackoff;
  last_connect_error_ = error;
  return error;
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) {
  if (connection->broken()) return;  // closed here; the next caller reconnects
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

}  // namespace flashsale::redis
