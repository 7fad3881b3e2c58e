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

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "redis/cluster.h"
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

// One ConnectionPool per node of a Topology, started with the node's first
// call. with_route() runs a call on the node serving a key's slot and follows
// MOVED and ASK replies as the pipeline does (pipeline.h); a connection
// failure asks the topology for a refresh, so the next call finds a promoted
// replica.
class PoolSet {
 public:
  PoolSet(Topology& topology, std::size_t max_idle_per_node);

  Topology& topology() const { return topology_; }

  // body(Connection&) -> Status on a connection to the node of `route`.
  // `body` may run more than once (a redirect): it must be safe to resend,
  // which a command Redis answered MOVED or ASK is.
  template <typename Body>
  Status with_route(std::string_view route, Body&& body) {
    int node = topology_.node_for(route);
    bool asking = false;
    for (int redirects = 0;; ++redirects) {
      if (node == Topology::kNoNode) return no_node(route);
      Status status = with_node(node, [&](Connection& connection) {
        if (asking) {
          Reply ignored;
          Status asked = connection.command({"ASKING"}, &ignored);
          if (!asked.is_ok()) return asked;
        }
        return body(connection);
      });
      Redirect redirect;
      if (redirects >= kMaxRedirects || !topology_.cluster() || !parse_redirect(status, &redirect)) return status;
      if (!redirect.ask) topology_.moved(redirect.slot, redirect.to);
      node = topology_.node_at(redirect.to);
      asking = redirect.ask;
    }
  }

  // body(Connection&) -> Status on a connection to node `node`.
  template <typename Body>
  Status with_node(int node, Body&& body) {
    Status status = pool(node).with_connection(body);
    if (status.code() == Code::unavailable) topology_.request_refresh();
    return status;
  }

 private:
  static constexpr int kMaxRedirects = 5;
  ConnectionPool& pool(int node);
  Status no_node(std::string_view route);

  Topology& topology_;
  const std::size_t max_idle_;
  std::unique_ptr<std::atomic<ConnectionPool*>[]> pools_;  // by node index
  std::mutex mutex_;                                        // starting a pool
  std::vector<std::unique_ptr<ConnectionPool>> owned_;
};

}  // namespace flashsale::redis
