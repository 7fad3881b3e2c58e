// One I/O thread of the HTTP front: a PollSet over its connections, a table
// of them by file descriptor, and a deadline list per phase. A connection
// lives on one loop from accept to close; other threads reach a loop only
// through its inbox (new connections, finished handler answers) and a wake
// socket.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/PollSet.h>
#include <Poco/Net/StreamSocket.h>

#include "http/client_address.h"
#include "http/connection_budget.h"
#include "http/message.h"
#include "http/request_parser.h"

namespace flashsale {

class HandlerPool;
class IoLoop;
class Router;
struct HttpCounters;
struct HttpLimits;

// What every loop of one server shares. Read-only once the loops run, but
// for the flags and the budget.
struct LoopShared {
  const Router* router = nullptr;
  const HttpLimits* limits = nullptr;
  const TrustedProxies* proxies = nullptr;
  HttpCounters* counters = nullptr;
  HandlerPool* pool = nullptr;  // null: every handler runs on the I/O thread
  ConnectionBudget* budget = nullptr;
  std::vector<IoLoop*> loops;  // where accepted connections go, in turn
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> drain_deadline_ms{0};  // steady-clock ms; valid once stopping
};

class IoLoop {
 public:
  // `listener`: the listening socket this loop accepts on, or null.
  IoLoop(LoopShared* shared, const Poco::Net::Socket* listener);
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  void start();
  void join();
  void wake();  // any thread: look at the inbox and the stop flag now

  // Any thread: serve this accepted connection (the budget already taken).
  void adopt(int fd, const IpAddress& peer, std::string peer_text);
  // Any thread: the answer to the request a connection handed to the pool.
  void complete(int fd, std::uint64_t serial, HttpResponse response);

  struct Connection;

 private:
  // Where a connection stands, and so which deadline runs: awaiting (no
  // request: idle timeout), head and body (header and body timeouts),
  // writing (an answer blocked on the client: write timeout), lingering
  // (answered for the last time, reading what follows until EOF: linger
  // timeout). handling and ready have none: a handler has the request, or
  // pipelined input waits for this loop's next turn.
  enum class Phase { awaiting, head, body, writing, lingering, handling, ready, count };
  struct DeadlineList {
    Connection* head = nullptr;
    Connection* tail = nullptr;
  };
  struct Inbound {
    int fd = -1;
    std::uint64_t serial = 0;  // 0: a new connection; else the answer for connection `serial`
    IpAddress peer;
    std::string peer_text;
    HttpResponse response;
  };

  void run();
  void take_inbox();
  void run_ready();
  Connection* find(int fd, std::uint64_t serial) const;
  void accept_ready();
  void reject(Connection* c, int status, const char* code, const char* message);
  Connection* add_connection(int fd, const IpAddress& peer, std::string peer_text, bool counted);

  void on_readable(Connection* c);
  void on_writable(Connection* c);
  // Parses and answers what `data` holds, as far as the connection may go now.
  void process(Connection* c, const char* data, std::size_t size);
  void dispatch(Connection* c, HttpRequest& request);
  void respond(Connection* c, const HttpResponse& response);
  void flush(Connection* c);
  void settle(Connection* c);  // after a flush: the phase the connection is in now
  void begin_linger(Connection* c);
  bool close_if_quiet(Connection* c);  // while draining: closes an idle connection unless a request is arriving
  void answer_timeout(Connection* c, const char* what);
  void unlist(Connection* c);  // off its deadline list; the next set_phase starts a new one
  void relist(Connection* c);
  void close(Connection* c);

  void set_phase(Connection* c, Phase phase);
  void set_mode(Connection* c, int mode);
  void expire();
  void begin_drain();
  std::chrono::milliseconds poll_timeout() const;
  void update_date();

  LoopShared* shared_;
  const HttpLimits& limits_;
  Poco::Net::PollSet poll_set_;
  bool listening_ = false;
  Poco::Net::Socket listener_;
  bool accept_paused_ = false;
  std::int64_t accept_resume_ms_ = 0;
  std::size_t next_loop_ = 0;

  int wake_fds_[2] = {-1, -1};  // socketpair: [0] polled here, [1] written by wake()
  Poco::Net::StreamSocket wake_socket_;
  std::atomic<bool> wake_pending_{false};
  std::mutex inbox_mutex_;
  std::vector<Inbound> inbox_;

  std::vector<std::unique_ptr<Connection>> by_fd_;
  std::size_t connections_ = 0;
  std::size_t rejected_lingering_ = 0;
  std::uint64_t next_serial_ = 1;
  DeadlineList lists_[static_cast<int>(Phase::count)];
  std::vector<std::pair<int, std::uint64_t>> ready_;  // (fd, serial): pipelined input left over
  std::int64_t now_ms_ = 0;
  std::int64_t date_second_ = -1;
  std::string date_;
  std::vector<char> scratch_;
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace flashsale
