#include "http/http_server.h"

#include <fcntl.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <stdexcept>

#include "http/connection_budget.h"
#include "http/handler_pool.h"
#include "http/io_loop.h"

namespace flashsale {

struct HttpServer::State {
  State(const Router* router, HttpServerOptions opts, HttpCounters* counters)
      : options(std::move(opts)), budget(options.limits.max_connections, options.limits.max_connections_per_ip) {
    shared.router = router;
    shared.limits = &options.limits;
    shared.proxies = &options.trusted_proxies;
    shared.counters = counters;
    shared.budget = &budget;
  }

  HttpServerOptions options;
  ConnectionBudget budget;
  LoopShared shared;
  std::unique_ptr<HandlerPool> pool;
  Poco::Net::ServerSocket listener;
  std::vector<std::unique_ptr<IoLoop>> loops;
  std::uint16_t port = 0;
  bool running = false;
};

HttpServer::HttpServer(const Router* router, HttpServerOptions options, HttpCounters* counters)
    : state_(std::make_unique<State>(router, std::move(options), counters)) {}

HttpServer::~HttpServer() {
  stop(std::chrono::milliseconds(0));
}

void HttpServer::start() {
  State& s = *state_;
  const HttpServerOptions& o = s.options;
  try {
    Poco::Net::SocketAddress address =
        o.host.empty() ? Poco::Net::SocketAddress(o.port) : Poco::Net::SocketAddress(o.host, o.port);
    // SO_REUSEADDR for restarts over TIME_WAIT; never SO_REUSEPORT, which
    // would let a second server silently share the port.
    s.listener.bind(address, true, false);
    s.listener.listen(4096);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot listen: ") + e.what());
  }
  int fd = s.listener.impl()->sockfd();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  s.port = s.listener.address().port();

  if (o.handler_threads > 0) s.pool = std::make_unique<HandlerPool>(o.handler_threads, o.limits.handler_queue);
  s.shared.pool = s.pool.get();
  for (int i = 0; i < std::max(o.io_threads, 1); ++i) {
    s.loops.push_back(std::make_unique<IoLoop>(&s.shared, i == 0 ? &s.listener : nullptr));
    s.shared.loops.push_back(s.loops.back().get());
  }
  for (auto& loop : s.loops) loop->start();
  s.running = true;
}

std::uint16_t HttpServer::port() const {
  return state_->port;
}

void HttpServer::stop(std::chrono::milliseconds drain_timeout) {
  State& s = *state_;
  if (!s.running) return;
  s.running = false;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
  s.shared.drain_deadline_ms.store((now + drain_timeout).count());
  s.shared.stopping.store(true);
  for (auto& loop : s.loops) loop->wake();
  for (auto& loop : s.loops) loop->join();
  // The loops are done with the pool: what it still holds has no one to answer.
  if (s.pool) s.pool->stop();
  s.loops.clear();
  s.listener.close();
}

}  // namespace flashsale
