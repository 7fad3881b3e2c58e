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

PoolSet::PoolSet(Topology& topology, std::size_t max_idle_per_node)
    : topology_(topology), max_idle_(max_idle_per_node), pools_(new std::atomic<ConnectionPool*>[Topology::kMaxNodes]) {
  for (std::size_t i = 0; i < Topology::kMaxNodes; ++i) pools_[i].store(nullptr, std::memory_order_relaxed);
}

ConnectionPool& PoolSet::pool(int node) {
  auto index = static_cast<std::size_t>(node);
  ConnectionPool* found = pools_[index].load(std::memory_order_acquire);
  if (found != nullptr) return *found;
  std::lock_guard lock(mutex_);
  found = pools_[index].load(std::memory_order_relaxed);
  if (found == nullptr) {
    owned_.push_back(std::make_unique<ConnectionPool>(topology_.endpoint(node), max_idle_));
    found = owned_.back().get();
    pools_[index].store(found, std::memory_order_release);
  }
  return *found;
}

Status PoolSet::no_node(std::string_view route) {
  topology_.request_refresh();
  return Status(Code::unavailable, "redis cluster: no node serves slot " + std::to_string(key_slot(route)));
}

}  // namespace flashsale::redis
