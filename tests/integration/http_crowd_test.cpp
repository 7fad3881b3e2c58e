// The HTTP front under a crowd of connections that ask for nothing (idle) or
// for as little as they can at a time (slowloris): a stampede of buyers and
// a health probe must still be served promptly, and SIGTERM must still
// drain within its deadline.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "integration/http_front_fixture.h"
#include "integration/sale_fixture.h"
#include "support/raw_socket.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

namespace {

// The child server inherits the limit, so this comes before it starts.
void raise_open_file_limit(rlim_t needed) {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  limit.rlim_cur = limit.rlim_max;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  INFO("the open-file hard limit is " << limit.rlim_max);
  REQUIRE(limit.rlim_cur >= needed);
}

// `count` connections that send nothing, opened by `threads` threads at once.
std::vector<RawSocket> open_idle(int port, int count, int threads = 1) {
  std::vector<std::vector<RawSocket>> parts(static_cast<std::size_t>(threads));
  std::vector<std::thread> openers;
  for (int t = 0; t < threads; ++t) {
    openers.emplace_back([&, t] {
      for (int i = t; i < count; i += threads) parts[static_cast<std::size_t>(t)].emplace_back(port);
    });
  }
  for (std::thread& opener : openers) opener.join();
  std::vector<RawSocket> sockets;
  sockets.reserve(static_cast<std::size_t>(count));
  for (auto& part : parts) std::move(part.begin(), part.end(), std::back_inserter(sockets));
  return sockets;
}

// Connections that each send the start of a request and then one more
// header byte a second, from one driver thread. Each one the server cuts
// (408 after http.header.timeout.ms) is opened again, so they stay attached
// until stop().
class Slowloris {
 public:
  Slowloris(int port, int count) : port_(port), sockets_(static_cast<std::size_t>(count)) {
    driver_ = std::thread([this] { drive(); });
  }
  ~Slowloris() { stop(); }

  bool wait_attached(int timeout_ms) const {
    return wait_until([this] { return attached_.load() == sockets_.size(); }, timeout_ms);
  }
  int timeouts_seen() const { return timeouts_seen_.load(); }  // 408 answers
  void stop() {
    stop_ = true;
    if (driver_.joinable()) driver_.join();
    sockets_.clear();
  }

 private:
  static constexpr int kGroups = 10;  // a group a tick of 100 ms: each connection sends once a second
  static constexpr std::string_view kStart = "POST /api/flash_sale/buy HTTP/1.1\r\nHost: x\r\nX-Slow: ";

  void drive() {
    long long next_tick = steady_now_ms();
    for (std::size_t tick = 0; !stop_;) {
      if (steady_now_ms() >= next_tick) {
        for (std::size_t i = tick % kGroups; i < sockets_.size(); i += kGroups) {
          if (sockets_[i]) {
            sockets_[i]->send_all("a");  // fails once the server has closed: the read below notices
          } else {
            open(i);
          }
        }
        ++tick;
        next_tick += 1000 / kGroups;
      }
      read_answers(static_cast<int>(std::max(0LL, next_tick - steady_now_ms())));
    }
  }

  void open(std::size_t i) {
    try {
      sockets_[i].emplace(port_);
      if (sockets_[i]->send_all(kStart)) {
        ++attached_;
        return;
      }
    } catch (const std::exception&) {
      // refused (the server is gone): tried again next second
    }
    sockets_[i].reset();
  }

  void read_answers(int timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
      if (!sockets_[i]) continue;
      fds.push_back(pollfd{sockets_[i]->fd(), POLLIN, 0});
      which.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(fds[k].fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        if (std::string_view(buffer, static_cast<std::size_t>(n)).rfind("HTTP/1.1 408 ", 0) == 0) ++timeouts_seen_;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        sockets_[which[k]].reset();
        --attached_;
      }
    }
  }

  const int port_;
  std::vector<std::optional<RawSocket>> sockets_;  // the driver's alone while it runs
  std::atomic<std::size_t> attached_{0};
  std::atomic<int> timeouts_seen_{0};
  std::atomic<bool> stop_{false};
  std::thread driver_;
};

struct Probe {
  int status = 0;            // 0: no connection or no answer
  long long at_ms = 0;       // when it started, since the prober did
  long long connect_ms = 0;  // part of ms
  long long ms = 0;          // connect to the answer's last byte
};

// A fresh connection and a GET /healthz on it; the connection goes to *keep
// when given, else it is closed.
Probe probe_healthz(int port, std::vector<RawSocket>* keep = nullptr) {
  const long long start = steady_now_ms();
  Probe probe;
  try {
    RawSocket socket(port);
    probe.connect_ms = steady_now_ms() - start;
    std::optional<RawResponse> reply;
    if (socket.send_all(kHealthzRequest)) reply = socket.read_response(5000);
    if (reply) probe.status = reply->status;
    if (keep != nullptr) keep->push_back(std::move(socket));
  } catch (const std::exception&) {
    // no connection: status 0
  }
  probe.ms = steady_now_ms() - start;
  return probe;
}

std::string describe(const std::vector<Probe>& probes) {
  std::ostringstream text;
  for (const Probe& probe : probes) {
    text << "at " << probe.at_ms << " ms: " << probe.status << " in " << probe.ms << " ms (connect " << probe.connect_ms
         << " ms)\n";
  }
  return text.str();
}

// A probe every ~100 ms from its own thread until stopped.
class Prober {
 public:
  explicit Prober(int port)
      : thread_([this, port] {
          const long long first = steady_now_ms();
          while (!stop_) {
            const long long start = steady_now_ms();
            Probe probe = probe_healthz(port);
            probe.at_ms = start - first;
            probes_.push_back(probe);
            std::this_thread::sleep_for(std::chrono::milliseconds(std::max(0LL, 100 - probe.ms)));  // pacing
          }
        }) {}
  ~Prober() { stop(); }

  std::vector<Probe> stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return probes_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<Probe> probes_;  // the thread's until it is joined
  std::thread thread_;
};

}  // namespace

TEST_CASE("15000 idle and 500 slowloris connections leave a stampede and /healthz fast", "[e2e][http][crowd]") {
  constexpr int kIdle = 15000;
  constexpr int kSlow = 500;
  constexpr int kBuyers = 2000;
  constexpr int kStock = 100;
  constexpr int kThreads = 50;
  raise_open_file_limit(kIdle + kSlow + 1000);
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_MAX_CONNECTIONS", "20000"},
                                     {"HTTP_MAX_CONNECTIONS_PER_IP", "20000"},
                                     // The crowd must outlive a slow run; the idle timeout has its own test.
                                     {"HTTP_IDLE_TIMEOUT_MS", "600000"}});
  const int port = server->port();
  HttpClient admin(port);
  long long product = create_product(admin, kStock);
  preload(admin, product);

  const long long start = steady_now_ms();
  std::vector<RawSocket> idle = open_idle(port, kIdle, 4);
  REQUIRE(wait_until([&] { return http_counter(port, "connections_open").value_or(0) >= kIdle; }, 30000, 50));
  Slowloris slowloris(port, kSlow);
  REQUIRE(slowloris.wait_attached(10000));
  const long long attached_ms = steady_now_ms() - start;

  Prober prober(port);
  const long long stampede_start = steady_now_ms();
  // The buyers' threads run at nice 10 (inherited from the thread that
  // starts them): the probes measure the server under the crowd, not the
  // buyers' own client code taking both cores from the prober.
  StampedeResult run;
  std::thread buyers([&] {
    ::setpriority(PRIO_PROCESS, 0, 10);  // 0: this thread, on Linux
    run = stampede(port, product, kBuyers, kThreads);
  });
  buyers.join();
  const long long stampede_ms = steady_now_ms() - stampede_start;
  // The probes go on through the first wave of slowloris cut and back again.
  CHECK(wait_until([&] { return http_counter(port, "header_timeouts").value_or(0) > 0; }, 15000, 100));
  std::vector<Probe> probes = prober.stop();
  CAPTURE(attached_ms, stampede_ms, probes.size());

  int answered = static_cast<int>(run.accepted.size());
  for (const auto& [what, count] : run.rejected) {
    INFO(what);
    CHECK(what == "409 sold_out");
    answered += count;
  }
  CHECK(answered == kBuyers);
  CHECK(run.accepted.size() == kStock);

  REQUIRE(probes.size() >= 10);
  std::vector<Probe> late;  // or not answered 200
  std::vector<long long> times;
  for (const Probe& probe : probes) {
    times.push_back(probe.ms);
    if (probe.status != 200 || probe.ms > 100) late.push_back(probe);
  }
  std::sort(times.begin(), times.end());
  const long long p90 = times[(times.size() * 9 + 9) / 10 - 1];
  const long long slowest = times.back();
  INFO(describe(late));
  CAPTURE(p90, slowest);
  WARN("GET /healthz from a fresh connection during the stampede: " << times.size() << " probes, median "
                                                                    << times[times.size() / 2] << " ms, p90 " << p90
                                                                    << " ms, slowest " << slowest << " ms");
  // Every probe within 100 ms. This test runs alone (RUN_SERIAL): on a quiet
  // 2-core machine under ASan the slowest probe takes 25-45 ms; with other
  // builds loading the machine it has reached a few hundred.
  CHECK(late.empty());
  CHECK(slowest <= 100);

  auto finals = poll_final(admin, run.accepted);
  REQUIRE(finals.size() == run.accepted.size());
  int success = 0;
  for (const auto& [id, reply] : finals) success += reply.str("status") == "success" ? 1 : 0;
  CHECK(success == kStock);
  CHECK(sqlite_scalar(dir.file("flash_sale.db"),
                      "SELECT COUNT(*) FROM (SELECT user_id FROM orders GROUP BY user_id, product_id "
                      "HAVING COUNT(*) > 1)") == 0);
  HttpReply reconcile = admin.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  INFO(reconcile.body);
  REQUIRE(reconcile.status == 200);
  CHECK(reconcile.num("in_flight") == 0);
  CHECK(reconcile.json->getValue<bool>("reconciled"));

  CHECK(slowloris.timeouts_seen() > 0);
  int served = 0;
  for (std::size_t i = 0; i < idle.size(); i += idle.size() / 50) {
    if (!idle[i].send_all(kHealthzRequest)) continue;
    std::optional<RawResponse> reply = idle[i].read_response(5000);
    served += reply && reply->status == 200 ? 1 : 0;
  }
  CHECK(served == 50);
  slowloris.stop();
  idle.clear();
  CHECK(server->stop() == 0);
}

// Each I/O loop takes connections from the accepting one through an inbox
// and a wake-up; one lost wake-up leaves every later hand-over waiting for
// the loop to wake for something else (at most 1 s on a quiet server). A
// burst of connections gives the hand-over many chances to lose one.
TEST_CASE("after a burst of 8000 connections a new one is still answered at once", "[e2e][http][burst]") {
  constexpr int kBurst = 8000;
  raise_open_file_limit(kBurst + 1000);
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_MAX_CONNECTIONS_PER_IP", "20000"}});
  const int port = server->port();
  std::vector<RawSocket> idle = open_idle(port, kBurst, 4);
  REQUIRE(wait_until([&] { return http_counter(port, "connections_open").value_or(0) >= kBurst; }, 30000, 50));
  // Now nothing moves but the probes, one at a time, so each loop gets one
  // in turn; they stay open, so no close wakes a loop by chance.
  std::vector<Probe> probes;
  std::vector<RawSocket> probed;
  long long slowest = 0;
  const long long first = steady_now_ms();
  for (int i = 0; i < 20; ++i) {
    const long long at = steady_now_ms() - first;
    probes.push_back(probe_healthz(port, &probed));
    probes.back().at_ms = at;
    slowest = std::max(slowest, probes.back().ms);
  }
  INFO(describe(probes));
  for (const Probe& probe : probes) CHECK(probe.status == 200);
  CHECK(slowest < 500);
}

TEST_CASE("SIGTERM closes idle connections and finishes a request within http.drain.timeout.ms", "[e2e][http][drain]") {
  constexpr int kIdle = 2000;
  constexpr int kDrainMs = 2000;
  raise_open_file_limit(kIdle + 1000);
  TempDir dir;
  auto server = start_embedded(
      dir, {{"HTTP_DRAIN_TIMEOUT_MS", std::to_string(kDrainMs)}, {"HTTP_MAX_CONNECTIONS_PER_IP", "20000"}});
  const int port = server->port();
  long long product = 0;
  {
    HttpClient admin(port);
    product = create_product(admin, 10);
    preload(admin, product);
  }
  std::vector<RawSocket> idle = open_idle(port, kIdle, 4);
  REQUIRE(wait_until([&] { return http_counter(port, "connections_open").value_or(0) >= kIdle; }, 30000, 50));
  Slowloris slowloris(port, 200);
  REQUIRE(slowloris.wait_attached(10000));
  // A request cut in its body. The GET before it in the same write is
  // answered only after the server has parsed on into the body, so once
  // that answer is here the request is in progress, not idle.
  RawSocket partial(port);
  const std::string body = buy_body(product, 7);
  REQUIRE(partial.send_all(std::string(kHealthzRequest) +
                           "POST /api/flash_sale/buy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5)));
  std::optional<RawResponse> before = partial.read_response(5000);
  REQUIRE(before);
  REQUIRE(before->status == 200);

  const long long sigterm_at = steady_now_ms();
  REQUIRE(::kill(server->pid(), SIGTERM) == 0);
  int closed = 0;
  for (RawSocket& socket : idle) {
    closed += socket.wait_closed(static_cast<int>(std::max(1LL, sigterm_at + 5000 - steady_now_ms()))) ? 1 : 0;
  }
  CHECK(closed == kIdle);
  // Draining has begun on every loop (each had idle connections): the rest of the body is still taken.
  REQUIRE(partial.send_all(body.substr(5)));
  std::optional<RawResponse> reply = partial.read_response(5000);
  REQUIRE(reply);
  INFO(reply->body);
  CHECK(reply->status == 202);
  CHECK(reply->header("Connection") == "close");
  CHECK(partial.wait_closed(5000));

  const int margin_ms = 4000;
  const int code =
      server->stop_when_exited(static_cast<int>(std::max(1LL, sigterm_at + kDrainMs + margin_ms - steady_now_ms())));
  const long long exit_ms = steady_now_ms() - sigterm_at;
  CAPTURE(exit_ms);
  CHECK(code == 0);
  CHECK(exit_ms < kDrainMs + margin_ms);
  slowloris.stop();
  // The answer was not a lie: the drained pipeline wrote the order.
  CHECK(sqlite_scalar(dir.file("flash_sale.db"), "SELECT COUNT(*) FROM orders WHERE user_id = 7") == 1);
}
