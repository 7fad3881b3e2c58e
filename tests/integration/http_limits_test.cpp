// Each limit of the HTTP front crossed over a real socket, with short
// settings so the tests are fast: what the client sees, and the /healthz
// counter that tells an operator it happened.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "integration/http_front_fixture.h"
#include "integration/sale_fixture.h"
#include "support/raw_socket.h"

using namespace flashsale::test;

namespace {

const std::string kBuyHead = "POST /api/flash_sale/buy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

void check_refusal(const std::optional<RawResponse>& reply, const std::string& status_line, const std::string& code) {
  REQUIRE(reply);
  INFO(reply->body);
  CHECK(reply->status_line == status_line);
  CHECK(reply->error_code() == code);
  CHECK(reply->header("Connection") == "close");
}

// Whether the connection serves a GET /healthz now.
bool serves(RawSocket& socket) {
  if (!socket.send_all(kHealthzRequest)) return false;
  std::optional<RawResponse> reply = socket.read_response(5000);
  return reply && reply->status == 200;
}

// `count` connections, each one answered once, so each holds its place.
std::vector<RawSocket> open_served(int port, int count) {
  std::vector<RawSocket> sockets;
  for (int i = 0; i < count; ++i) {
    sockets.emplace_back(port);
    REQUIRE(serves(sockets.back()));
  }
  return sockets;
}

// utime + stime of a process, in clock ticks.
long long cpu_ticks(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  long long utime = 0;
  long long stime = 0;
  for (int number = 3; fields >> field && number <= 15; ++number) {  // numbered as in proc(5)
    if (number == 14) utime = std::stoll(field);
    if (number == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

}  // namespace

TEST_CASE("a head trickled past http.header.timeout.ms gets 408 and EOF", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_HEADER_TIMEOUT_MS", "300"}});
  RawSocket socket(server->port());
  const long long start = steady_now_ms();
  REQUIRE(socket.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: "));
  // A byte every 50 ms: each comes quickly, the head never ends.
  bool answered = false;
  while (!answered && steady_now_ms() - start < 10000) {
    pollfd p{socket.fd(), POLLIN, 0};
    answered = ::poll(&p, 1, 50) > 0;
    if (!answered) socket.send_all("a");
  }
  REQUIRE(answered);
  CHECK(steady_now_ms() - start >= 250);  // the deadline runs from the first byte
  check_refusal(socket.read_response(5000), "HTTP/1.1 408 Request Timeout", "request_timeout");
  CHECK(socket.wait_closed(5000));
  CHECK(http_counter(server->port(), "header_timeouts").value_or(0) >= 1);
}

TEST_CASE("a body short of its Content-Length past http.body.timeout.ms gets 408", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_BODY_TIMEOUT_MS", "300"}});
  RawSocket socket(server->port());
  const long long start = steady_now_ms();
  REQUIRE(socket.send_all(kBuyHead + "Content-Length: 20\r\n\r\n{\"pro"));
  check_refusal(socket.read_response(5000), "HTTP/1.1 408 Request Timeout", "request_timeout");
  CHECK(steady_now_ms() - start >= 250);
  CHECK(socket.wait_closed(5000));
  CHECK(http_counter(server->port(), "body_timeouts").value_or(0) >= 1);
}

TEST_CASE("a connection silent past http.idle.timeout.ms is closed without an answer", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_IDLE_TIMEOUT_MS", "300"}});
  RawSocket socket(server->port());
  const long long start = steady_now_ms();
  std::string received;
  CHECK(socket.wait_closed(5000, &received));
  CHECK(received.empty());
  CHECK(steady_now_ms() - start >= 250);
  CHECK(http_counter(server->port(), "idle_closed").value_or(0) >= 1);
}

TEST_CASE("a client that never reads is cut after http.write.timeout.ms", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_WRITE_TIMEOUT_MS", "300"}});
  RawSocket greedy(server->port(), "", /*receive_buffer=*/4096);
  std::atomic<bool> stop{false};
  std::atomic<bool> send_failed{false};
  std::thread sender([&] {
    std::string requests;
    for (int i = 0; i < 100; ++i) requests += kHealthzRequest;
    std::size_t at = 0;  // requests cycle without a break, so each arrives whole
    while (!stop) {
      pollfd p{greedy.fd(), POLLOUT, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::send(greedy.fd(), requests.data() + at, requests.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        at = (at + static_cast<std::size_t>(n)) % requests.size();
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        send_failed = true;
        return;
      }
    }
  });
  CHECK(wait_until([&] { return http_counter(server->port(), "write_timeouts").value_or(0) >= 1; }, 15000, 100));
  CHECK(wait_until([&] { return send_failed.load(); }, 5000));  // the server reset the connection
  stop = true;
  sender.join();
}

TEST_CASE("past http.max.connections a new connection gets 503 and EOF", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_MAX_CONNECTIONS", "5"}});
  std::vector<RawSocket> held = open_served(server->port(), 5);
  RawSocket sixth(server->port());
  check_refusal(sixth.read_response(5000), "HTTP/1.1 503 Service Unavailable", "server_busy");
  CHECK(sixth.wait_closed(5000));
  CHECK(serves(held.front()));
  held.pop_back();  // a place for the connection that reads the counter
  CHECK(wait_until([&] { return http_counter(server->port(), "refused_max_connections").value_or(0) >= 1; }, 5000));
}

TEST_CASE("past http.max.connections.per.ip an address gets 429 and others are served", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir, {{"HTTP_MAX_CONNECTIONS_PER_IP", "3"}});
  std::vector<RawSocket> held = open_served(server->port(), 3);
  RawSocket fourth(server->port());
  check_refusal(fourth.read_response(5000), "HTTP/1.1 429 Too Many Requests", "too_many_connections");
  CHECK(fourth.wait_closed(5000));
  RawSocket other(server->port(), "127.0.0.2");
  CHECK(serves(other));
  CHECK(http_counter(server->port(), "refused_per_ip", "127.0.0.2").value_or(0) >= 1);
}

TEST_CASE("40 pipelined requests are answered in order past http.max.pipelined", "[e2e][http][limits]") {
  EmbeddedServer server;
  RawSocket socket(server.port());
  std::string requests;
  for (int i = 0; i < 40; ++i) {
    requests += i % 2 == 0 ? std::string(kHealthzRequest)
                           : "GET /nowhere/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  REQUIRE(socket.send_all(requests));
  for (int i = 0; i < 40; ++i) {
    INFO("answer " << i);
    std::optional<RawResponse> reply = socket.read_response(5000);
    REQUIRE(reply);
    if (i % 2 == 0) {
      CHECK(reply->status == 200);
    } else {
      CHECK(reply->status == 404);
      CHECK(reply->body.find("/nowhere/" + std::to_string(i) + "\"") != std::string::npos);
    }
  }
  CHECK(http_counter(server.port(), "pipeline_paused").value_or(0) >= 1);
}

TEST_CASE("the 11th wrong admin token in a second gets 429 and locks the right one out", "[e2e][http][limits]") {
  EmbeddedServer server;
  RawSocket socket(server.port());
  auto reconcile = [](const std::string& token) {
    return "GET /api/admin/reconcile/1 HTTP/1.1\r\nHost: x\r\nX-Admin-Token: " + token + "\r\n\r\n";
  };
  // Pipelined in one write, so all fall in one second however slow the machine.
  std::string requests;
  for (int i = 0; i < 11; ++i) requests += reconcile("wrong-token");
  requests += reconcile(kAdmin.at("X-Admin-Token"));
  REQUIRE(socket.send_all(requests));
  for (int i = 0; i < 10; ++i) {
    std::optional<RawResponse> reply = socket.read_response(5000);
    REQUIRE(reply);
    CHECK(reply->status == 401);
    CHECK(reply->error_code() == "unauthorized");
  }
  for (const char* which : {"11th wrong token", "right token while locked"}) {
    INFO(which);
    std::optional<RawResponse> reply = socket.read_response(5000);
    REQUIRE(reply);
    CHECK(reply->status_line == "HTTP/1.1 429 Too Many Requests");
    CHECK(reply->error_code() == "auth_rate_limited");
    CHECK(std::atoi(reply->header("Retry-After").c_str()) >= 1);
  }
}

TEST_CASE("bodies of 1 and 4 MiB get 413 and leave the server idle", "[e2e][http][limits]") {
  TempDir dir;
  auto server = start_embedded(dir);
  struct Case {
    const char* what;
    std::size_t bytes;
    bool chunked;
  };
  // Left open until the end: the server lingers on those it read whole.
  std::vector<RawSocket> refused;
  refused.reserve(4);
  for (const Case& big : {Case{"4 MiB by Content-Length", 4 << 20, false}, Case{"4 MiB chunked", 4 << 20, true},
                          Case{"1 MiB by Content-Length", 1 << 20, false}, Case{"1 MiB chunked", 1 << 20, true}}) {
    INFO(big.what);
    RawSocket& socket = refused.emplace_back(server->port());
    std::string request = kBuyHead;
    if (big.chunked) {
      constexpr std::size_t kChunk = 64 * 1024;
      request += "Transfer-Encoding: chunked\r\n\r\n";
      for (std::size_t sent = 0; sent < big.bytes; sent += kChunk)
        request += "10000\r\n" + std::string(kChunk, 'x') + "\r\n";
      request += "0\r\n\r\n";
    } else {
      request += "Content-Length: " + std::to_string(big.bytes) + "\r\n\r\n" + std::string(big.bytes, 'x');
    }
    long long send_ms = 0;
    std::thread sender([&] {
      const long long start = steady_now_ms();
      socket.send_all(request);  // all of it, or cut off by a reset once the server has had enough
      send_ms = steady_now_ms() - start;
    });
    std::optional<RawResponse> reply = socket.read_response(10000);
    bool closed = socket.wait_closed(5000);  // the server shut down its side after the answer
    sender.join();
    check_refusal(reply, "HTTP/1.1 413 Content Too Large", "payload_too_large");
    CHECK(closed);
    CHECK(send_ms < 5000);  // the server read or reset, within its linger bounds (1 MiB, 2 s)
  }
  // Neither the connections lingering nor what the others left behind may keep a core busy.
  const long long ticks_before = cpu_ticks(server->pid());
  const long long start = steady_now_ms();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a measuring window, not a wait for an event
  const double busy_seconds = static_cast<double>(cpu_ticks(server->pid()) - ticks_before) / ::sysconf(_SC_CLK_TCK);
  const double share_of_a_core = busy_seconds / (static_cast<double>(steady_now_ms() - start) / 1000.0);
  CHECK(share_of_a_core < 0.25);
  refused.clear();
  CHECK(http_counter(server->port(), "payload_too_large").value_or(-1) == 4);
  CHECK(server->stop() == 0);
}
