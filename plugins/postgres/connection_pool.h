// The connections one store shares among its callers: at most `size` open at
// once, made when needed, kept open while idle. A caller blocks (up to a
// deadline) while all of them are out. A connection that failed is closed
// when it comes back, and an idle one the server has meanwhile closed (a
// restart) is noticed before it is handed out; either way the next caller
// gets a new connection, so the pool heals once the server is back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "pg_connection.h"

namespace flashsale::postgres {

class ConnectionPool {
 public:
  // wait: how long acquire() waits for a connection to come back.
  ConnectionPool(ConnectOptions options, std::size_t size, std::chrono::milliseconds wait);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // One connection, the caller's alone until the lease ends. On return an
  // open transaction is rolled back; a broken connection is closed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }
    // It sat idle in the pool before: a failure on it may only mean the
    // server dropped it meanwhile.
    bool reused() const noexcept { return reused_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection, bool reused) noexcept
        : pool_(pool), connection_(std::move(connection)), reused_(reused) {}

    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
    bool reused_;
  };

  // Throws PgError: connection when a new connection cannot be made,
  // unavailable when none comes back within the wait.
  Lease acquire();

 private:
  void give_back(std::unique_ptr<Connection> connection) noexcept;

  const ConnectOptions options_;
  const std::size_t size_;
  const std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle, leased, or being connected
};

}  // namespace flashsale::postgres
