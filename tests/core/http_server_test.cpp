// The HTTP front in process, with routes made for the test: the handler pool
// and its bound, answers in order across the pool, the drain at stop, slow
// readers, trusted proxies, and connections that cost no thread.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/http_server.h"
#include "http/router.h"
#include "pipeline/counters.h"

namespace flashsale {

namespace {

using namespace std::chrono_literals;

// A gate handlers wait at until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  bool wait_for_waiters(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return waiting_ >= n; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

// Catch's assertions are for the test's own thread: these two only report,
// so client threads can use them too.
int try_connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{10, 0};  // a test that hangs fails instead
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

bool try_send_all(int fd, const std::string& bytes) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

int connect_to(std::uint16_t port) {
  int fd = try_connect(port);
  REQUIRE(fd >= 0);
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  REQUIRE(try_send_all(fd, bytes));
}

// Reads one response (head and a Content-Length body) from `fd`, keeping
// what follows in *pending. Empty when the connection closed first.
std::string read_response(int fd, std::string* pending) {
  std::string& buffer = *pending;
  char chunk[65536];
  for (;;) {
    auto head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::size_t length = 0;
      auto at = buffer.find("Content-Length: ");
      if (at != std::string::npos && at < head_end) length = std::stoul(buffer.substr(at + 16));
      std::size_t total = head_end + 4 + length;
      if (buffer.size() >= total) {
        std::string response = buffer.substr(0, total);
        buffer.erase(0, total);
        return response;
      }
    }
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return {};
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string body_of(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

std::string body_of_or_empty(const std::string& response) {
  return response.empty() ? std::string() : body_of(response);
}

bool at_eof(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, 0) == 0;
}

// Closed by the server, with a FIN or (at a hard deadline) a reset.
bool closed(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

// Waits up to 10 s for `condition`.
template <typename Condition>
bool eventually(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

HttpResponse text(std::string body) {
  HttpResponse response;
  response.body = std::move(body);
  response.content_type = "text/plain";
  return response;
}

HttpServerOptions options(int handler_threads) {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.io_threads = 2;
  o.handler_threads = handler_threads;
  return o;
}

int thread_count() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  while (dirent* entry = ::readdir(dir)) n += entry->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

}  // namespace

TEST_CASE("answers from the handler pool keep the order of pipelined requests", "[http-server]") {
  Gate gate;
  Router router;
  router.add("GET", "/slow", true, [&](const HttpRequest&, std::string_view) {
    gate.wait();
    return text("slow");
  });
  router.add("GET", "/fast", false, [](const HttpRequest&, std::string_view) { return text("fast"); });
  HttpCounters counters;
  HttpServer server(&router, options(2), &counters);
  server.start();

  int fd = connect_to(server.port());
  send_all(fd, get("/fast") + get("/slow") + get("/fast"));
  REQUIRE(gate.wait_for_waiters(1));
  gate.open();
  std::string pending;
  CHECK(body_of(read_response(fd, &pending)) == "fast");
  CHECK(body_of(read_response(fd, &pending)) == "slow");
  CHECK(body_of(read_response(fd, &pending)) == "fast");
  ::close(fd);
  server.stop(1s);
}

TEST_CASE("answers from the handler pool reach their I/O thread without waiting for its poll timeout",
          "[http-server]") {
  // Each answer wakes its I/O thread. With nothing else to do, an I/O thread
  // sleeps until its next deadline (the idle timeout, 60 s), so an answer
  // whose wake-up is lost waits that long.
  Router router;
  router.add("GET", "/pooled", true, [](const HttpRequest&, std::string_view) { return text("pooled"); });
  HttpCounters counters;
  HttpServer server(&router, options(4), &counters);
  server.start();
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      int fd = try_connect(server.port());
      std::string pending;
      for (int i = 0; i < 250 && fd >= 0 && try_send_all(fd, get("/pooled")); ++i) {
        if (body_of_or_empty(read_response(fd, &pending)) != "pooled") break;  // (10 s receive timeout)
        ++answered;
      }
      ::close(fd);
    });
  }
  auto finished = std::async(std::launch::async, [&] {
    for (std::thread& client : clients) client.join();
  });
  CHECK(finished.wait_for(30s) == std::future_status::ready);
  finished.wait();
  CHECK(answered.load() == 1000);
  server.stop(1s);
}

TEST_CASE("a full handler queue answers 503 overloaded at once", "[http-server]") {
  Gate gate;
  Router router;
  router.add("GET", "/block", true, [&](const HttpRequest&, std::string_view) {
    gate.wait();
    return text("done");
  });
  HttpCounters counters;
  HttpServerOptions o = options(1);
  o.limits.handler_queue = 1;
  HttpServer server(&router, o, &counters);
  server.start();

  int running = connect_to(server.port());
  send_all(running, get("/block"));
  REQUIRE(gate.wait_for_waiters(1));  // the one handler thread is busy
  // Of five more, one waits in the queue and four are refused without
  // waiting for the gate; which one is queued depends on arrival.
  std::mutex mutex;
  std::condition_variable answered;
  std::vector<std::string> answers;
  std::vector<std::thread> clients;
  for (int i = 0; i < 5; ++i) {
    clients.emplace_back([&] {
      int fd = try_connect(server.port());
      std::string pending, answer;
      if (fd >= 0 && try_send_all(fd, get("/block"))) answer = read_response(fd, &pending);
      ::close(fd);
      std::lock_guard<std::mutex> lock(mutex);
      answers.push_back(answer);
      answered.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    CHECK(answered.wait_for(lock, 20s, [&] { return answers.size() >= 4; }));
    for (const std::string& answer : answers) {
      CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 503 Service Unavailable") && Catch::Contains("Retry-After: 1") &&
                             Catch::Contains("\"overloaded\""));
    }
  }
  gate.open();
  for (std::thread& client : clients) client.join();
  CHECK(answers.size() == 5);
  CHECK(std::count_if(answers.begin(), answers.end(), [](const std::string& a) { return body_of(a) == "done"; }) == 1);
  CHECK(counters.handler_queue_full.load() == 4);
  std::string pending;
  CHECK(body_of(read_response(running, &pending)) == "done");
  ::close(running);
  server.stop(1s);
}

TEST_CASE("stop closes idle connections and answers requests in progress with Connection: close", "[http-server]") {
  Gate gate;
  Router router;
  router.add("GET", "/block", true, [&](const HttpRequest&, std::string_view) {
    gate.wait();
    return text("finished");
  });
  HttpCounters counters;
  HttpServer server(&router, options(2), &counters);
  server.start();

  int idle = connect_to(server.port());
  int busy = connect_to(server.port());
  send_all(busy, get("/block"));
  REQUIRE(gate.wait_for_waiters(1));
  auto stopped = std::async(std::launch::async, [&] { server.stop(10s); });
  CHECK(at_eof(idle));  // closed at once, without waiting for the busy one
  CHECK(stopped.wait_for(0ms) == std::future_status::timeout);
  gate.open();
  std::string pending;
  std::string answer = read_response(busy, &pending);
  CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200 OK") && Catch::Contains("Connection: close"));
  CHECK(body_of(answer) == "finished");
  CHECK(stopped.wait_for(10s) == std::future_status::ready);
  ::close(idle);
  ::close(busy);
}

TEST_CASE("stop returns at the drain deadline however many clients are half-way through a request", "[http-server]") {
  Router router;
  router.add("GET", "/", false, [](const HttpRequest&, std::string_view) { return text("root"); });
  HttpCounters counters;
  HttpServerOptions o = options(0);
  o.limits.header_timeout = 600s;  // only the drain deadline can end these
  o.limits.max_connections_per_ip = 1000;
  HttpServer server(&router, o, &counters);
  server.start();

  std::vector<int> slow;
  for (int i = 0; i < 500; ++i) {
    slow.push_back(connect_to(server.port()));
    send_all(slow.back(), "GET / HTTP/1.1\r\nHost: te");
  }
  // Every one of them is being read (the last one answers a probe after them).
  int probe = connect_to(server.port());
  send_all(probe, get("/"));
  std::string pending;
  REQUIRE(body_of(read_response(probe, &pending)) == "root");

  auto stopped = std::async(std::launch::async, [&] { server.stop(300ms); });
  CHECK(stopped.wait_for(30s) == std::future_status::ready);
  for (int fd : slow) {
    CHECK(closed(fd));
    ::close(fd);
  }
  ::close(probe);
}

TEST_CASE("a client that reads slowly gets a large answer in full", "[http-server]") {
  const std::string big(4 << 20, 'x');
  Router router;
  router.add("GET", "/big", false, [&](const HttpRequest&, std::string_view) { return text(big); });
  HttpCounters counters;
  HttpServer server(&router, options(0), &counters);
  server.start();

  int fd = connect_to(server.port());
  send_all(fd, get("/big") + get("/big"));
  for (int i = 0; i < 2; ++i) {
    std::string head;
    char byte;
    while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &byte, 1, 0) == 1) head += byte;
    std::size_t body = 0;
    char chunk[1024];  // small reads: the server meets a full socket again and again
    while (body < big.size()) {
      ssize_t n = ::recv(fd, chunk, std::min(sizeof chunk, big.size() - body), 0);
      REQUIRE(n > 0);
      body += static_cast<std::size_t>(n);
    }
    CHECK_THAT(head, Catch::Contains("Content-Length: " + std::to_string(big.size())));
  }
  ::close(fd);
  server.stop(1s);
}

TEST_CASE("X-Forwarded-For names the client only when the peer is a trusted proxy", "[http-server]") {
  Router router;
  router.add("GET", "/who", false,
             [](const HttpRequest& request, std::string_view) { return text(request.client_ip); });
  auto who = [&](const std::string& trusted, const std::string& forwarded) {
    HttpServerOptions o = options(0);
    std::string error;
    REQUIRE(TrustedProxies::parse(trusted, &o.trusted_proxies, &error));
    HttpCounters counters;
    HttpServer server(&router, o, &counters);
    server.start();
    int fd = connect_to(server.port());
    send_all(fd, "GET /who HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: " + forwarded + "\r\n\r\n");
    std::string pending;
    std::string answer = body_of(read_response(fd, &pending));
    ::close(fd);
    server.stop(1s);
    return answer;
  };
  CHECK(who("", "203.0.113.7") == "127.0.0.1");
  CHECK(who("10.0.0.0/8", "203.0.113.7") == "127.0.0.1");
  CHECK(who("127.0.0.1", "203.0.113.7") == "203.0.113.7");
  // Right to left, past the trusted hops; what the client wrote first is not believed.
  CHECK(who("127.0.0.0/8, 10.0.0.0/8", "1.2.3.4, 203.0.113.7, 10.1.2.3") == "203.0.113.7");
  CHECK(who("127.0.0.1", "not-an-address") == "127.0.0.1");
}

TEST_CASE("idle connections cost no thread", "[http-server]") {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;  // both ends of each connection are in this process
  ::setrlimit(RLIMIT_NOFILE, &files);
  REQUIRE(files.rlim_cur >= 2100);
  Router router;
  router.add("GET", "/", false, [](const HttpRequest&, std::string_view) { return text("root"); });
  HttpCounters counters;
  HttpServerOptions o = options(4);
  o.limits.max_connections_per_ip = 2000;
  HttpServer server(&router, o, &counters);
  server.start();
  int threads = thread_count();
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(connect_to(server.port()));
  int probe = connect_to(server.port());
  send_all(probe, get("/"));
  std::string pending;
  REQUIRE(body_of(read_response(probe, &pending)) == "root");
  // Connections reach the other I/O thread through its inbox.
  CHECK(eventually([&] { return counters.connections_open.load() == 1001; }));
  CHECK(thread_count() == threads);
  for (int fd : idle) ::close(fd);
  ::close(probe);
  server.stop(1s);
  CHECK(counters.connections_open.load() == 0);
}

TEST_CASE("trusted proxies parse addresses and CIDR blocks, and name a bad entry", "[http-server]") {
  TrustedProxies proxies;
  std::string error;
  REQUIRE(TrustedProxies::parse("10.0.0.0/8, 192.168.1.1, 2001:db8::/32", &proxies, &error));
  auto contains = [&](const char* text) {
    IpAddress address;
    REQUIRE(IpAddress::parse(text, &address));
    return proxies.contains(address);
  };
  CHECK(contains("10.255.0.1"));
  CHECK_FALSE(contains("11.0.0.1"));
  CHECK(contains("192.168.1.1"));
  CHECK_FALSE(contains("192.168.1.2"));
  CHECK(contains("2001:db8:1::5"));
  CHECK_FALSE(contains("2001:db9::5"));
  CHECK_FALSE(TrustedProxies::parse("10.0.0.0/33", &proxies, &error));
  CHECK_THAT(error, Catch::Contains("10.0.0.0/33"));
  CHECK_FALSE(TrustedProxies::parse("example.com", &proxies, &error));
  CHECK_THAT(error, Catch::Contains("example.com"));
}

}  // namespace flashsale
