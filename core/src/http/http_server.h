// The HTTP front: a few I/O threads, each with its own PollSet (epoll),
// serve every connection without a thread per connection; complete requests
// go to the route table, on the I/O thread when the route never blocks and
// on a small handler pool when it calls a backend. Every resource a client
// controls is bounded (HttpLimits), and stop() drains within a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/client_address.h"
#include "http/request_parser.h"

namespace flashsale {

class Router;
struct HttpCounters;

struct HttpLimits {
  ParserLimits parser;
  std::chrono::milliseconds header_timeout{5000};  // first byte of a request to the end of its head
  std::chrono::milliseconds body_timeout{10000};   // end of the head to the end of the body
  std::chrono::milliseconds idle_timeout{60000};   // a connection with no request in progress
  std::chrono::milliseconds write_timeout{10000};  // a response that makes no progress to the client
  std::chrono::milliseconds linger_timeout{2000};  // reading what follows an answer before closing
  std::size_t linger_bytes = 1 << 20;              // at most this much is read and dropped while lingering
  std::size_t max_connections = 20000;
  std::size_t max_connections_per_ip = 256;
  std::size_t max_pipelined = 16;    // requests answered from one connection before others get a turn
  std::size_t handler_queue = 4096;  // requests waiting for a handler thread; beyond, 503
};

struct HttpServerOptions {
  std::string host;        // "" = every interface
  std::uint16_t port = 0;  // 0 = any free port
  int io_threads = 2;
  int handler_threads = 32;  // 0: every handler runs on the I/O threads
  HttpLimits limits;
  TrustedProxies trusted_proxies;
};

class HttpServer {
 public:
  // `router` and `counters` must outlive the server.
  HttpServer(const Router* router, HttpServerOptions options, HttpCounters* counters);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (throws std::runtime_error naming the address when it
  // cannot), then starts the threads.
  void start();
  std::uint16_t port() const;

  // Stops accepting, closes idle connections, lets requests in progress
  // finish and their answers go out, and closes whatever is left at the
  // deadline. Returns once every thread has stopped.
  void stop(std::chrono::milliseconds drain_timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace flashsale
