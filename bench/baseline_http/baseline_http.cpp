// flashsale-baseline-http: the framework ceiling the flashsale server is
// measured against. A bare Poco HTTPServer (a thread per connection from a
// pool of --threads, keep-alive) that reads each POST body and answers 202
// with a fixed body the size of a real buy answer, and answers every GET 200
// with the fixed body of the server's GET /livez. Whatever the buy endpoint
// does beyond this is the cost of flashsale itself.
//
// With --sqlite PATH, each POST also queues one order row for a writer
// thread that batches rows into PATH (sqlite_orders.h): the ceiling of an
// embedded buy, which must make every accepted order durable.
//
// With --redis, each POST also sends one Redis command (the words after
// "--") over a blocking hiredis connection of its worker thread before it
// answers: the ceiling of a buy that costs one round trip and one admit.lua
// EVALSHA, with no flashsale code. Every "__rand_int__" in the words becomes
// a 12-digit counter, distinct per request (redis-benchmark's placeholder,
// there a random number), so each call can lock its own user. The reply is
// not judged beyond Redis errors (answered 500, the first one printed): the
// caller counts the success share from the keys the script writes.
//
// usage: flashsale-baseline-http [--addr HOST:PORT] [--threads N]
//                                [--sqlite PATH | --redis HOST:PORT -- COMMAND ARG...]
// Prints "baseline listening on http://HOST:PORT" first; stops on SIGTERM/SIGINT.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "post_work.h"
#include "sqlite_orders.h"

namespace {

using flashsale::bench::PostWork;

const std::string kBody = R"({"request_id":"0b4f3c1e-6a0d-4b5e-9a57-3f1c2d4e5f60","status":"pending"})";
const std::string kLiveBody = R"({"status":"ok"})";
const std::string kPlaceholder = "__rand_int__";

// The command each POST sends, and where it goes. Set once in main, before
// the server starts; read-only afterwards.
struct RedisCall {
  std::string host;
  int port = 0;
  std::vector<std::string> words;
};

class RedisCaller final : public PostWork {
 public:
  explicit RedisCaller(const RedisCall& call) : call_(call) {}

  // Sends the command once on this thread's connection; false on an I/O or
  // Redis error (the connection is dropped and made again by the next call).
  bool once() override {
    thread_local std::unique_ptr<redisContext, decltype(&redisFree)> context(nullptr, &redisFree);
    if (!context) {
      context.reset(redisConnect(call_.host.c_str(), call_.port));
      if (!context || context->err != 0) {
        report(context ? context->errstr : "cannot allocate a connection");
        context.reset();
        return false;
      }
    }
    char number[16];
    std::snprintf(number, sizeof number, "%012llu", next_.fetch_add(1, std::memory_order_relaxed));
    std::vector<std::string> words = call_.words;
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (std::string& word : words) {
      for (auto at = word.find(kPlaceholder); at != std::string::npos; at = word.find(kPlaceholder, at)) {
        word.replace(at, kPlaceholder.size(), number);
      }
      args.push_back(word.data());
      lengths.push_back(word.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context.get(), static_cast<int>(args.size()), args.data(), lengths.data()));
    if (reply == nullptr) {
      report(context->errstr);
      context.reset();
      return false;
    }
    bool ok = reply->type != REDIS_REPLY_ERROR;
    if (!ok) report(std::string(reply->str, reply->len));
    freeReplyObject(reply);
    return ok;
  }

 private:
  void report(const std::string& why) {
    if (!reported_.exchange(true)) std::cerr << "baseline: redis call failed: " << why << std::endl;
  }

  const RedisCall& call_;
  std::atomic<unsigned long long> next_{1};
  std::atomic<bool> reported_{false};
};

class FixedAnswer : public Poco::Net::HTTPRequestHandler {
 public:
  explicit FixedAnswer(PostWork* work) : work_(work) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    const std::string& method = request.getMethod();
    bool post = method == Poco::Net::HTTPRequest::HTTP_POST;
    bool get = method == Poco::Net::HTTPRequest::HTTP_GET;
    auto status = post  ? Poco::Net::HTTPResponse::HTTP_ACCEPTED
                  : get ? Poco::Net::HTTPResponse::HTTP_OK
                        : Poco::Net::HTTPResponse::HTTP_METHOD_NOT_ALLOWED;
    if (post && work_ != nullptr && !work_->once()) status = Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR;
    const std::string& answer = get ? kLiveBody : kBody;
    response.setStatus(status);
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(answer.size()));
    response.send() << answer;
  }

 private:
  PostWork* work_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(PostWork* work) : work_(work) {}

  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new FixedAnswer(work_);
  }

 private:
  PostWork* work_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:0";
  int threads = 128;  // more than the connections of a -c 50 wrk run: none waits for a thread
  std::string redis_addr, sqlite_path;
  RedisCall call;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      call.words.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 == argc) break;
    if (std::strcmp(argv[i], "--addr") == 0)
      addr = argv[++i];
    else if (std::strcmp(argv[i], "--threads") == 0)
      threads = std::stoi(argv[++i]);
    else if (std::strcmp(argv[i], "--redis") == 0)
      redis_addr = argv[++i];
    else if (std::strcmp(argv[i], "--sqlite") == 0)
      sqlite_path = argv[++i];
  }
  std::unique_ptr<PostWork> work;
  if (!sqlite_path.empty()) {
    try {
      work = std::make_unique<flashsale::bench::SqliteOrders>(sqlite_path);
    } catch (const std::exception& e) {
      std::cerr << "baseline: " << e.what() << std::endl;
      return 2;
    }
  } else if (!redis_addr.empty()) {
    auto colon = redis_addr.rfind(':');
    if (colon == std::string::npos || call.words.empty()) {
      std::cerr << "baseline: --redis HOST:PORT needs a port and a command after --" << std::endl;
      return 2;
    }
    call.host = redis_addr.substr(0, colon);
    call.port = std::stoi(redis_addr.substr(colon + 1));
    work = std::make_unique<RedisCaller>(call);
    std::signal(SIGPIPE, SIG_IGN);  // a Redis that goes away is an error reply, not the end of the process
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts, so all inherit it

  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(addr), true);
  socket.listen(1024);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(4096);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  Poco::ThreadPool pool(2, threads);
  Poco::Net::HTTPServer server(new Factory(work.get()), pool, socket, params);
  server.start();
  std::cout << "baseline listening on http://" << socket.address().toString() << std::endl;

  int signal = 0;
  sigwait(&stop, &signal);
  server.stopAll(false);
  pool.joinAll();
  return 0;
}
