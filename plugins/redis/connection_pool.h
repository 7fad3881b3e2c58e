// A small thread-safe pool of Connections to one Redis server. A connection
// is used by one thread at a time: with_connection() takes an idle one (or
// opens a new one), runs the caller's function on it and gives it back,
// unless it broke, in which case it is closed and the next caller reconnects.
// That is the whole reconnect story: after an outage the first command finds
// a fresh connection.
//
// The pool opens connections on demand (a thread never waits for another's
// connection, so a reader blocked in XREADGROUP cannot starve the buy path)
// and keeps at most `max_idle` of them open between uses. After a failed
// connect it fails fast for a short while instead of letting every caller
// wait out the connect timeout again.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "redis/connection.h"

namespace flashsale::redis {

class ConnectionPool {
 public:
  ConnectionPool(Endpoint endpoint, std::size_t max_idle);

  const Endpoint& endpoint() const { return endpoint_; }

  // Runs body(Connection&) -> Status on a connection of its own.
  template <typename Body>
  Status with_connection(Body&& body) {
    std::unique_ptr<Connection> connection;
    Status taken = take(&connection);
    if (!taken.is_ok()) return taken;
    Status status = body(*connection);
    give_back(std::move(connection));
    return status;
  }

 private:
  Status take(std::unique_ptr<Connection>* out);
  void give_back(std::unique_ptr<Connection> connection);

  const Endpoint endpoint_;
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::chrono::steady_clock::time_point retry_after_{};
  Status last_connect_error_;
};

}  // namespace flashsale::redis
