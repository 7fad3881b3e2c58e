#include "connection_pool.h"

#include "pg_error.h"

namespace flashsale::postgres {

ConnectionPool::ConnectionPool(ConnectOptions options, std::size_t size, std::chrono::milliseconds wait)
    : options_(std::move(options)), size_(size), wait_(wait) {
  idle_.reserve(size_);  // so give_back never allocates
}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::~Lease() {
  if (connection_ == nullptr) return;  // moved from
  connection_->rollback();
  pool_->give_back(std::move(connection_));
}

ConnectionPool::Lease ConnectionPool::acquire() {
  std::vector<std::unique_ptr<Connection>> stale;  // closed after the lock is released
  std::unique_lock<std::mutex> lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + wait_;
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->usable()) return Lease(this, std::move(connection), true);
      stale.push_back(std::move(connection));
      --open_;
    }
    if (open_ < size_) {
      ++open_;
      lock.unlock();
      stale.clear();
      try {
        return Lease(this, Connection::open(options_), false);
      } catch (...) {
        lock.lock();
        --open_;
        returned_.notify_one();
        throw;
      }
    }
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= size_) {
      throw PgError(PgError::Kind::unavailable, "",
                    "all " + std::to_string(size_) + " connections stayed busy for " + std::to_string(wait_.count()) +
                        " ms (postgres.pool.size)");
    }
  }
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) noexcept {
  std::unique_ptr<Connection> closing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (connection->broken()) {
      closing = std::move(connection);
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  returned_.notify_one();
}

}  // namespace flashsale::postgres
