#include "http/io_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/StreamSocketImpl.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "http/handler_pool.h"
#include "http/http_server.h"
#include "http/router.h"
#include "pipeline/counters.h"

namespace flashsale {

namespace {

using Poco::Net::PollSet;

constexpr std::size_t kScratchBytes = 64 * 1024;
// Answers queued beyond this stop the parsing of further pipelined requests
// until the client has read them.
constexpr std::size_t kOutputHighWater = 64 * 1024;
constexpr std::size_t kKeepOutputCapacity = 16 * 1024;
constexpr std::size_t kMaxRejectedLingering = 256;
constexpr int kAcceptsPerWake = 128;
// With no deadline pending a loop sleeps until something happens: idle
// connections cost no wake-ups.
constexpr std::int64_t kMaxPollMs = 3'600'000;
constexpr std::int64_t kAcceptPauseMs = 100;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void peer_of(const sockaddr_storage& address, IpAddress* peer, std::string* text) {
  char buffer[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    peer->bytes.fill(0);
    peer->bytes[10] = peer->bytes[11] = 0xff;
    std::memcpy(&peer->bytes[12], &v4.sin_addr, 4);
    inet_ntop(AF_INET, &v4.sin_addr, buffer, sizeof buffer);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    std::memcpy(peer->bytes.data(), &v6.sin6_addr, 16);
    inet_ntop(AF_INET6, &v6.sin6_addr, buffer, sizeof buffer);
  }
  *text = buffer;
}

}  // namespace

struct IoLoop::Connection {
  Connection(int descriptor, const ParserLimits& limits)
      : fd(descriptor), socket(new Poco::Net::StreamSocketImpl(descriptor)), parser(limits) {}

  int fd;
  std::uint64_t serial = 0;
  Poco::Net::StreamSocket socket;  // owns fd; the PollSet knows the connection by it
  IpAddress peer;
  std::string peer_text;
  bool counted = true;  // holds a place in the connection budget
  RequestParser parser;
  std::string in;   // received but not parsed yet: pipelined behind a request in progress
  std::string out;  // answers not yet taken by the kernel, from out_sent on
  std::size_t out_sent = 0;
  Phase phase = Phase::awaiting;
  int mode = 0;             // what the PollSet watches for
  bool in_handler = false;  // a pool thread has the current request
  bool keep_alive = true;   // the request being answered allows another after it
  bool head_only = false;
  int minor_version = 1;
  bool continue_sent = false;
  bool close_after_write = false;
  std::size_t burst = 0;     // requests answered since this connection last waited for the network
  std::size_t lingered = 0;  // bytes dropped while lingering
  std::int64_t deadline_ms = 0;
  Connection* prev = nullptr;  // in lists_[phase], ordered by deadline
  Connection* next = nullptr;
  bool listed = false;
};

IoLoop::IoLoop(LoopShared* shared, const Poco::Net::Socket* listener)
    : shared_(shared), limits_(*shared->limits), scratch_(kScratchBytes) {
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, wake_fds_) != 0) {
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  }
  wake_socket_ = Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(wake_fds_[0]));
  poll_set_.add(wake_socket_, PollSet::POLL_READ);
  if (listener != nullptr) {
    listener_ = *listener;
    listening_ = true;
    poll_set_.add(listener_, PollSet::POLL_READ);
  }
  now_ms_ = steady_ms();
  update_date();
}

IoLoop::~IoLoop() {
  join();
  for (auto& c : by_fd_) {
    if (c) close(c.get());
  }
  ::close(wake_fds_[1]);  // [0] belongs to wake_socket_
}

void IoLoop::start() {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "http-io");
}

void IoLoop::join() {
  if (thread_.joinable()) thread_.join();
}

void IoLoop::wake() {
  if (!wake_pending_.exchange(true)) {
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::send(wake_fds_[1], &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

void IoLoop::adopt(int fd, const IpAddress& peer, std::string peer_text) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    Inbound& item = inbox_.emplace_back();
    item.fd = fd;
    item.peer = peer;
    item.peer_text = std::move(peer_text);
  }
  wake();
}

void IoLoop::complete(int fd, std::uint64_t serial, HttpResponse response) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    Inbound& item = inbox_.emplace_back();
    item.fd = fd;
    item.serial = serial;
    item.response = std::move(response);
  }
  wake();
}

void IoLoop::run() {
  for (;;) {
    now_ms_ = steady_ms();
    if (shared_->stopping.load() && !draining_) begin_drain();
    if (draining_ && (connections_ == 0 || now_ms_ >= shared_->drain_deadline_ms.load())) break;
    PollSet::SocketModeMap events;
    try {
      events = poll_set_.poll(Poco::Timespan(poll_timeout().count() * 1000));
    } catch (const std::exception&) {
      continue;  // EINTR and the like; the next round polls again
    }
    now_ms_ = steady_ms();
    update_date();
    for (const auto& [socket, mode] : events) {
      if (socket.impl() == wake_socket_.impl()) {
        // Drain, then clear: a wake() between the two finds the flag still
        // set and writes nothing, and its item is taken below in this round.
        // Cleared first, a byte written in between would be drained with
        // the flag left set, and no wake() would ever write again.
        char drain[64];
        while (::recv(wake_fds_[0], drain, sizeof drain, 0) > 0) {
        }
        wake_pending_.store(false);
        continue;
      }
      if (listening_ && socket.impl() == listener_.impl()) {
        accept_ready();
        continue;
      }
      int fd = socket.impl()->sockfd();
      if (fd < 0 || static_cast<std::size_t>(fd) >= by_fd_.size() || !by_fd_[fd] ||
          by_fd_[fd]->socket.impl() != socket.impl()) {
        continue;  // closed earlier in this round
      }
      Connection* c = by_fd_[fd].get();
      if (mode & PollSet::POLL_ERROR) {
        close(c);
      } else if (mode & PollSet::POLL_WRITE) {
        on_writable(c);
      } else if (mode & PollSet::POLL_READ) {
        on_readable(c);
      }
    }
    take_inbox();
    run_ready();
    expire();
    if (accept_paused_ && now_ms_ >= accept_resume_ms_ && listening_) {
      accept_paused_ = false;
      poll_set_.update(listener_, PollSet::POLL_READ);
    }
  }
  for (auto& c : by_fd_) {
    if (c) close(c.get());
  }
  take_inbox();  // connections handed over while stopping are closed, not served
}

std::chrono::milliseconds IoLoop::poll_timeout() const {
  if (!ready_.empty()) return std::chrono::milliseconds(0);
  std::int64_t wait = kMaxPollMs;
  for (const DeadlineList& list : lists_) {
    if (list.head != nullptr) wait = std::min(wait, list.head->deadline_ms - now_ms_);
  }
  if (accept_paused_) wait = std::min(wait, accept_resume_ms_ - now_ms_);
  if (draining_) wait = std::min(wait, shared_->drain_deadline_ms.load() - now_ms_);
  return std::chrono::milliseconds(std::max<std::int64_t>(wait, 0));
}

void IoLoop::update_date() {
  std::time_t now = std::time(nullptr);
  if (now == date_second_) return;
  date_second_ = now;
  std::tm utc;
  gmtime_r(&now, &utc);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  date_.assign(buffer, n);
}

void IoLoop::take_inbox() {
  std::vector<Inbound> items;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (inbox_.empty()) return;
    items.swap(inbox_);
  }
  for (Inbound& item : items) {
    if (item.serial == 0) {
      if (draining_) {
        ::close(item.fd);
        shared_->budget->give_back(item.peer);
        continue;
      }
      Connection* c = add_connection(item.fd, item.peer, std::move(item.peer_text), true);
      if (c != nullptr) set_phase(c, Phase::awaiting);
      continue;
    }
    Connection* c = find(item.fd, item.serial);
    if (c == nullptr || !c->in_handler) continue;  // closed while its request was being handled
    c->in_handler = false;
    set_phase(c, Phase::ready);
    respond(c, item.response);
    flush(c);
  }
}

void IoLoop::run_ready() {
  if (ready_.empty()) return;
  std::vector<std::pair<int, std::uint64_t>> batch;
  batch.swap(ready_);
  for (const auto& [fd, serial] : batch) {
    Connection* c = find(fd, serial);
    if (c == nullptr || c->phase != Phase::ready || c->in_handler) continue;
    c->burst = 0;
    std::string pending;
    pending.swap(c->in);
    process(c, pending.data(), pending.size());
    flush(c);
  }
}

IoLoop::Connection* IoLoop::find(int fd, std::uint64_t serial) const {
  if (fd < 0 || static_cast<std::size_t>(fd) >= by_fd_.size()) return nullptr;
  Connection* c = by_fd_[fd].get();
  return c != nullptr && c->serial == serial ? c : nullptr;
}

void IoLoop::accept_ready() {
  const int listen_fd = listener_.impl()->sockfd();
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener would report ready on every
        // round, so it rests until connections have closed.
        accept_paused_ = true;
        accept_resume_ms_ = now_ms_ + kAcceptPauseMs;
        poll_set_.update(listener_, 0);
      }
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    IpAddress peer;
    std::string text;
    peer_of(address, &peer, &text);
    bump(shared_->counters->connections_accepted);
    switch (shared_->budget->take(peer)) {
      case ConnectionBudget::Admit::ok: {
        IoLoop* target = shared_->loops[next_loop_++ % shared_->loops.size()];
        if (target == this) {
          Connection* c = add_connection(fd, peer, std::move(text), true);
          if (c != nullptr) set_phase(c, Phase::awaiting);
        } else {
          target->adopt(fd, peer, std::move(text));
        }
        break;
      }
      case ConnectionBudget::Admit::over_total: {
        bump(shared_->counters->refused_max_connections);
        Connection* c = add_connection(fd, peer, std::move(text), false);
        if (c != nullptr)
          reject(c, 503, "server_busy", "the server has as many connections as it takes (http.max.connections)");
        break;
      }
      case ConnectionBudget::Admit::over_address: {
        bump(shared_->counters->refused_per_ip);
        Connection* c = add_connection(fd, peer, std::move(text), false);
        if (c != nullptr) {
          reject(c, 429, "too_many_connections",
                 "this address has as many connections as it may (http.max.connections.per.ip)");
        }
        break;
      }
    }
  }
}

IoLoop::Connection* IoLoop::add_connection(int fd, const IpAddress& peer, std::string peer_text, bool counted) {
  if (!counted && rejected_lingering_ >= kMaxRejectedLingering) {
    ::close(fd);  // refusals are answered while there is room to; past that, cut off
    return nullptr;
  }
  if (static_cast<std::size_t>(fd) >= by_fd_.size()) by_fd_.resize(static_cast<std::size_t>(fd) + 1024);
  auto owned = std::make_unique<Connection>(fd, limits_.parser);
  Connection* c = owned.get();
  c->serial = next_serial_++;
  c->peer = peer;
  c->peer_text = std::move(peer_text);
  c->counted = counted;
  by_fd_[fd] = std::move(owned);
  ++connections_;
  if (counted) {
    bump(shared_->counters->connections_open);
  } else {
    ++rejected_lingering_;
  }
  poll_set_.add(c->socket, PollSet::POLL_READ);
  c->mode = PollSet::POLL_READ;
  return c;
}

void IoLoop::reject(Connection* c, int status, const char* code, const char* message) {
  c->keep_alive = false;
  respond(c, HttpResponse::error(status, code, message));
  flush(c);
}

void IoLoop::close(Connection* c) {
  unlist(c);
  try {
    poll_set_.remove(c->socket);
  } catch (const std::exception&) {
    // not registered: nothing to undo
  }
  c->socket.close();
  --connections_;
  if (c->counted) {
    shared_->budget->give_back(c->peer);
    shared_->counters->connections_open.fetch_sub(1, std::memory_order_relaxed);
  } else {
    --rejected_lingering_;
  }
  by_fd_[c->fd].reset();
}

void IoLoop::on_readable(Connection* c) {
  if (c->phase == Phase::lingering) {
    ssize_t n = ::recv(c->fd, scratch_.data(), scratch_.size(), 0);
    if (n > 0) c->lingered += static_cast<std::size_t>(n);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || c->lingered > limits_.linger_bytes) close(c);
    return;
  }
  c->burst = 0;
  ssize_t n = ::recv(c->fd, scratch_.data(), scratch_.size(), 0);
  if (n > 0) {
    process(c, scratch_.data(), static_cast<std::size_t>(n));
    if (!c->parser.idle()) {
      // A client that writes head and body apart (Poco's, curl's) holds
      // the body back under Nagle until its head is acknowledged, and on a
      // keep-alive connection Linux delays that ACK by 40 ms: send it now.
      int one = 1;
      ::setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    flush(c);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close(c);  // the client left (everything it asked for has been answered: we read only then)
  }
}

void IoLoop::on_writable(Connection* c) {
  flush(c);
}

void IoLoop::process(Connection* c, const char* data, std::size_t size) {
  std::size_t at = 0;
  while (at < size && !c->close_after_write && !c->in_handler) {
    if (c->burst >= limits_.max_pipelined || c->out.size() >= kOutputHighWater) {
      bump(shared_->counters->pipeline_paused);
      break;
    }
    std::size_t used = 0;
    HttpRequest request;
    RequestParser::Result result = c->parser.parse(data + at, size - at, &used, &request);
    at += used;
    if (result == RequestParser::Result::need_more) {
      if (c->parser.awaiting_continue() && !c->continue_sent) {
        c->out.append("HTTP/1.1 100 Continue\r\n\r\n");
        c->continue_sent = true;
      }
      break;
    }
    if (result == RequestParser::Result::error) {
      const ParseError& error = c->parser.error();
      bump(error.status == 413 ? shared_->counters->payload_too_large : shared_->counters->bad_requests);
      c->keep_alive = false;
      c->head_only = false;
      respond(c, HttpResponse::error(error.status, error.code, error.message));
      return;
    }
    c->continue_sent = false;
    ++c->burst;
    unlist(c);  // the idle deadline starts over after this request
    dispatch(c, request);
  }
  if (at < size && !c->close_after_write) c->in.assign(data + at, size - at);
}

void IoLoop::dispatch(Connection* c, HttpRequest& request) {
  const TrustedProxies& proxies = *shared_->proxies;
  if (proxies.empty()) {
    request.client_ip = c->peer_text;
  } else {
    request.client_ip = proxies.client(c->peer, c->peer_text, request.header("X-Forwarded-For"));
  }
  c->head_only = request.method_name() == "HEAD";
  c->keep_alive = request.keep_alive;
  c->minor_version = request.minor_version;
  Router::Match match = shared_->router->match(request);
  if (match.handler == nullptr) {
    bump(shared_->counters->unrouted);
    return respond(c, match.refusal);
  }
  if (!match.blocking || shared_->pool == nullptr) return respond(c, (*match.handler)(request, match.param));

  auto param_at = static_cast<std::uint32_t>(match.param.empty() ? 0 : match.param.data() - request.head.data());
  auto param_size = static_cast<std::uint32_t>(match.param.size());
  HandlerPool::Job job = [this, fd = c->fd, serial = c->serial, handler = match.handler, param_at, param_size,
                          request = std::move(request)]() {
    complete(fd, serial, (*handler)(request, request.view(HeadSpan{param_at, param_size})));
  };
  if (shared_->pool->submit(job)) {
    c->in_handler = true;
    return;
  }
  bump(shared_->counters->handler_queue_full);
  HttpResponse busy = HttpResponse::error(503, "overloaded", "too many requests in progress; retry shortly");
  busy.headers.emplace_back("Retry-After", "1");
  respond(c, busy);
}

void IoLoop::respond(Connection* c, const HttpResponse& response) {
  // The shared flag, not this loop's: an answer given after stop() began
  // closes its connection even before this loop has noticed.
  bool close = response.close || !c->keep_alive || shared_->stopping.load(std::memory_order_relaxed);
  ConnectionHeader header = close                   ? ConnectionHeader::close
                            : c->minor_version == 0 ? ConnectionHeader::keep_alive
                                                    : ConnectionHeader::none;
  append_response(response, c->head_only, header, date_, &c->out);
  if (close) c->close_after_write = true;
}

void IoLoop::flush(Connection* c) {
  while (c->out_sent < c->out.size()) {
    ssize_t n = ::send(c->fd, c->out.data() + c->out_sent, c->out.size() - c->out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_sent += static_cast<std::size_t>(n);
      if (c->phase == Phase::writing) relist(c);  // progress: the write deadline starts over
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_phase(c, Phase::writing);
      set_mode(c, PollSet::POLL_WRITE);
      return;
    }
    close(c);
    return;
  }
  c->out.clear();
  c->out_sent = 0;
  if (c->out.capacity() > kKeepOutputCapacity) std::string().swap(c->out);
  if (c->close_after_write) return begin_linger(c);
  settle(c);
}

void IoLoop::settle(Connection* c) {
  if (c->in_handler) {
    set_phase(c, Phase::handling);
    set_mode(c, 0);
    return;
  }
  if (!c->in.empty()) {
    set_phase(c, Phase::ready);
    set_mode(c, 0);
    ready_.emplace_back(c->fd, c->serial);
    return;
  }
  if (c->parser.idle()) {
    if (draining_ && close_if_quiet(c)) return;
    if (c->in.capacity() > 0) std::string().swap(c->in);
    set_phase(c, Phase::awaiting);
  } else {
    set_phase(c, c->parser.in_body() ? Phase::body : Phase::head);
  }
  set_mode(c, PollSet::POLL_READ);
}

void IoLoop::begin_linger(Connection* c) {
  // Closing with unread input would reset the connection, and the reset can
  // destroy the answer before the client reads it: shut down our side, and
  // read and drop what comes until the client closes, within bounds.
  ::shutdown(c->fd, SHUT_WR);
  c->in.clear();
  set_phase(c, Phase::lingering);
  set_mode(c, PollSet::POLL_READ);
}

bool IoLoop::close_if_quiet(Connection* c) {
  // A request already on its way is a request in progress: it is read and
  // answered (with Connection: close). Closing over it would reset the
  // connection.
  char byte;
  if (::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) return false;
  close(c);
  return true;
}

void IoLoop::answer_timeout(Connection* c, const char* what) {
  c->keep_alive = false;
  c->head_only = false;
  c->in.clear();
  respond(c, HttpResponse::error(408, "request_timeout", what));
  flush(c);
}

void IoLoop::expire() {
  auto list_of = [this](Phase phase) -> DeadlineList& { return lists_[static_cast<int>(phase)]; };
  HttpCounters& counters = *shared_->counters;
  for (Connection* c; (c = list_of(Phase::awaiting).head) != nullptr && c->deadline_ms <= now_ms_;) {
    bump(counters.idle_closed);
    close(c);
  }
  for (Connection* c; (c = list_of(Phase::head).head) != nullptr && c->deadline_ms <= now_ms_;) {
    bump(counters.header_timeouts);
    answer_timeout(c, "the request head did not arrive within http.header.timeout.ms");
  }
  for (Connection* c; (c = list_of(Phase::body).head) != nullptr && c->deadline_ms <= now_ms_;) {
    bump(counters.body_timeouts);
    answer_timeout(c, "the request body did not arrive within http.body.timeout.ms");
  }
  for (Connection* c; (c = list_of(Phase::writing).head) != nullptr && c->deadline_ms <= now_ms_;) {
    bump(counters.write_timeouts);
    close(c);
  }
  for (Connection* c; (c = list_of(Phase::lingering).head) != nullptr && c->deadline_ms <= now_ms_;) close(c);
}

void IoLoop::begin_drain() {
  draining_ = true;
  if (listening_) {
    poll_set_.remove(listener_);
    listening_ = false;
  }
  std::vector<Connection*> idle;
  for (Connection* c = lists_[static_cast<int>(Phase::awaiting)].head; c != nullptr; c = c->next) idle.push_back(c);
  for (Connection* c : idle) close_if_quiet(c);
}

void IoLoop::set_mode(Connection* c, int mode) {
  if (c->mode == mode) return;
  poll_set_.update(c->socket, mode);
  c->mode = mode;
}

void IoLoop::unlist(Connection* c) {
  if (!c->listed) return;
  DeadlineList& list = lists_[static_cast<int>(c->phase)];
  (c->prev != nullptr ? c->prev->next : list.head) = c->next;
  (c->next != nullptr ? c->next->prev : list.tail) = c->prev;
  c->prev = c->next = nullptr;
  c->listed = false;
}

void IoLoop::set_phase(Connection* c, Phase phase) {
  if (c->phase == phase && (c->listed || phase >= Phase::handling)) return;  // a running deadline keeps going
  unlist(c);
  c->phase = phase;
  std::chrono::milliseconds timeout{};
  switch (phase) {
    case Phase::awaiting:
      timeout = limits_.idle_timeout;
      break;
    case Phase::head:
      timeout = limits_.header_timeout;
      break;
    case Phase::body:
      timeout = limits_.body_timeout;
      break;
    case Phase::writing:
      timeout = limits_.write_timeout;
      break;
    case Phase::lingering:
      timeout = limits_.linger_timeout;
      break;
    default:
      return;  // no deadline
  }
  // Every list has one timeout, so appending keeps it ordered by deadline.
  c->deadline_ms = now_ms_ + timeout.count();
  DeadlineList& list = lists_[static_cast<int>(phase)];
  c->prev = list.tail;
  (list.tail != nullptr ? list.tail->next : list.head) = c;
  list.tail = c;
  c->listed = true;
}

void IoLoop::relist(Connection* c) {
  unlist(c);
  set_phase(c, c->phase);
}

}  // namespace flashsale
