// The auto-pipelining client of plugins/redis/pipeline.h against a real
// redis-server: every caller gets its own reply however the batches fall; an
// outage or a timeout fails what was in flight as unavailable and the lanes
// recover; stop() with commands in flight returns; and admission's follow-up
// state write still follows an admit script reloaded after a lost cache.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "redis/cluster.h"
#include "redis/keys.h"
#include "redis/pipeline.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

Endpoint endpoint_of(const RedisServer& server, milliseconds command_timeout = milliseconds(5000)) {
  Endpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = server.port();
  endpoint.command_timeout = command_timeout;
  endpoint.name = "test redis " + server.addr();
  return endpoint;
}

RedisServerOptions debuggable() {
  return RedisServerOptions{false, {"--enable-debug-command", "yes"}};
}

// A payload unique to (thread, i), sometimes larger than hiredis' 16 KiB read
// chunk, so replies straddle reads.
std::string payload(int thread, int i) {
  std::string text = "t" + std::to_string(thread) + "-" + std::to_string(i) + "-";
  std::size_t pad = i % 97 == 0 ? 20000 : static_cast<std::size_t>(i % 13) * 7;
  text.append(pad, static_cast<char>('a' + (thread + i) % 26));
  return text;
}

// Runs `threads` threads of body(thread) and joins them.
template <typename Body>
void in_parallel(int threads, Body body) {
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) running.emplace_back([&body, t] { body(t); });
  for (auto& thread : running) thread.join();
}

}  // namespace

TEST_CASE("pipeline: many threads get their own replies, in order per caller", "[redis][pipeline]") {
  RedisServer server;
  Topology topology(endpoint_of(server));
  Pipeline pipeline(topology, 3);
  constexpr int kThreads = 16;
  constexpr int kCommands = 400;
  std::atomic<int> mismatches{0};
  std::atomic<int> failures{0};
  in_parallel(kThreads, [&](int t) {
    for (int i = 0; i < kCommands; ++i) {
      std::string text = payload(t, i);
      Reply reply;
      // Routes spread the calls over every lane; INCR checks that a caller's
      // own commands run in its order.
      Status status = pipeline.command("r" + std::to_string(i % 7), {"ECHO", text}, &reply);
      if (!status.is_ok()) {
        ++failures;
        continue;
      }
      if (reply_text(reply.get()) != text) ++mismatches;
      std::string counter = "counter:" + std::to_string(t);
      status = pipeline.command(counter, {"INCR", counter}, &reply);
      std::int64_t value = 0;
      if (!status.is_ok() || !reply_int(reply.get(), &value) || value != i + 1) ++mismatches;
    }
  });
  CHECK(failures == 0);
  CHECK(mismatches == 0);
  // An error reply fails only its own command.
  Reply reply;
  Status status = pipeline.command("x", {"INCR", "not-a-number-key", "extra"}, &reply);
  CHECK(status.code() == Code::internal);
  CHECK(pipeline.command("x", {"ECHO", "still fine"}, &reply).is_ok());
  CHECK(reply_text(reply.get()) == "still fine");
}

TEST_CASE("pipeline: a redis-server killed mid-flight fails what was outstanding, and calls succeed after a restart",
          "[redis][pipeline][outage]") {
  RedisServer server(debuggable());
  Topology topology(endpoint_of(server));
  Pipeline pipeline(topology, 2);
  Reply reply;
  REQUIRE(pipeline.command("a", {"PING"}, &reply).is_ok());

  // One caller keeps Redis busy; others queue on both lanes behind it.
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> wrong{0};
  std::atomic<bool> go{true};
  auto started = steady_clock::now();
  std::thread sleeper([&] {
    Reply own;
    Status status = pipeline.command("a", {"DEBUG", "SLEEP", "3"}, &own);
    (status.code() == Code::unavailable ? unavailable : wrong)++;
  });
  std::this_thread::sleep_for(milliseconds(100));
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; go; ++i) {
        std::string text = payload(t, i);
        Reply own;
        Status status = pipeline.command(std::to_string(i % 5), {"ECHO", text}, &own);
        if (status.is_ok() && reply_text(own.get()) == text)
          ++ok;
        else if (status.code() == Code::unavailable)
          ++unavailable;
        else
          ++wrong;
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(300));
  server.kill();
  sleeper.join();
  auto failed_after = steady_clock::now() - started;
  std::this_thread::sleep_for(milliseconds(100));
  go = false;
  for (auto& caller : callers) caller.join();
  CHECK(wrong == 0);
  CHECK(unavailable > 0);
  // The outstanding DEBUG SLEEP failed with the connection, not at its end
  // or at the command timeout.
  CHECK(failed_after < milliseconds(2500));

  server.start();
  std::this_thread::sleep_for(milliseconds(150));  // past the connect back-off
  for (int i = 0; i < 20; ++i) {
    std::string route = std::to_string(i);
    Status status = pipeline.command(route, {"ECHO", route}, &reply);
    INFO(status.message());
    REQUIRE(status.is_ok());
    CHECK(reply_text(reply.get()) == route);
  }
}

TEST_CASE("pipeline: a timeout fails the batch as unavailable and the next calls get their own replies",
          "[redis][pipeline][outage]") {
  RedisServer server(debuggable());
  Topology topology(endpoint_of(server, milliseconds(300)));
  Pipeline pipeline(topology, 1);
  std::atomic<int> unavailable{0};
  std::atomic<int> other{0};
  in_parallel(4, [&](int t) {
    Reply reply;
    Status status = t == 0 ? pipeline.command("a", {"DEBUG", "SLEEP", "1"}, &reply)
                           : (std::this_thread::sleep_for(milliseconds(50)),
                              pipeline.command("a", {"ECHO", std::to_string(t)}, &reply));
    (status.code() == Code::unavailable ? unavailable : other)++;
  });
  CHECK(unavailable == 4);  // the sleep timed out; the echoes waited behind it and share its fate
  CHECK(other == 0);
  // Replies of the dropped connection never reach later callers.
  std::this_thread::sleep_for(milliseconds(900));
  for (int i = 0; i < 5; ++i) {
    Reply reply;
    std::string text = "after-" + std::to_string(i);
    REQUIRE(pipeline.command("a", {"ECHO", text}, &reply).is_ok());
    CHECK(reply_text(reply.get()) == text);
  }
}

TEST_CASE("pipeline: stop() with commands in flight returns, and later calls are refused",
          "[redis][pipeline][shutdown]") {
  RedisServer server(debuggable());
  bool redis_stalled = GENERATE(false, true);
  INFO("Redis stalled: " << redis_stalled);
  Topology topology(endpoint_of(server, milliseconds(1000)));
  Pipeline pipeline(topology, 2);
  std::atomic<bool> go{true};
  std::atomic<int> calls{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; go; ++i) {
        std::string text = payload(t, i);
        Reply reply;
        Status status = pipeline.command(std::to_string(i), {"ECHO", text}, &reply);
        ++calls;
        if (status.is_ok() ? reply_text(reply.get()) != text : status.code() != Code::unavailable) ++wrong;
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(100));
  Client client(server);
  std::thread stall;
  if (redis_stalled) {
    stall = std::thread([&] { client.run({"DEBUG", "SLEEP", "3"}); });
    std::this_thread::sleep_for(milliseconds(100));
  }
  auto stopping = steady_clock::now();
  pipeline.stop();
  auto took = steady_clock::now() - stopping;
  go = false;
  for (auto& caller : callers) caller.join();
  if (stall.joinable()) stall.join();
  CHECK(took < milliseconds(2000));  // at most one command timeout
  CHECK(calls > 0);
  CHECK(wrong == 0);
  Reply reply;
  CHECK(pipeline.command("x", {"PING"}, &reply).code() == Code::unavailable);
}

TEST_CASE("pipeline: command_all sends many commands at once and hands each its own outcome", "[redis][pipeline]") {
  RedisServer server;
  Topology topology(endpoint_of(server));
  Pipeline pipeline(topology, 3);
  std::atomic<int> mismatches{0};
  in_parallel(8, [&](int t) {
    std::vector<Pipeline::Command> commands;
    for (int i = 0; i < 300; ++i) commands.push_back({"r" + std::to_string(i % 11), {"ECHO", payload(t, i)}});
    commands.push_back({"x", {"INCR", "not-a-number-key", "extra"}});  // an error reply among them
    std::vector<Status> statuses;
    std::vector<Reply> replies;
    pipeline.command_all(commands, &statuses, &replies);
    if (statuses.size() != commands.size() || replies.size() != commands.size()) {
      ++mismatches;
      return;
    }
    for (std::size_t i = 0; i + 1 < commands.size(); ++i) {
      if (!statuses[i].is_ok() || reply_text(replies[i].get()) != commands[i].argv[1]) ++mismatches;
    }
    if (statuses.back().code() != Code::internal) ++mismatches;
  });
  CHECK(mismatches == 0);

  std::vector<Status> statuses;
  std::vector<Reply> replies;
  pipeline.command_all({}, &statuses, &replies);
  CHECK(statuses.empty());
  pipeline.stop();
  pipeline.command_all({{"a", {"PING"}}, {"b", {"PING"}}}, &statuses, &replies);
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0].code() == Code::unavailable);
  CHECK(statuses[1].code() == Code::unavailable);
}

namespace {

// INCR k, then WAIT 0 0 on the same connection, then SET k:done <the WAIT
// reply>: a chain of two follow-ups as admission builds one.
class WaitThenSet final : public FollowUp {
 public:
  explicit WaitThenSet(std::string key) : key_(std::move(key)) {}
  bool next(const Status& status, const redisReply*, std::string* route,
            std::vector<std::string>* argv) noexcept override {
    if (!status.is_ok()) return false;
    *route = key_;
    *argv = {"WAIT", "0", "0"};
    return true;
  }
  bool then(const Status& status, const redisReply* reply, std::string* route,
            std::vector<std::string>* argv) noexcept override {
    ++steps;
    if (steps > 1) return false;  // the SET's own reply ends the chain
    waited = status.is_ok() && reply != nullptr && reply->type == REDIS_REPLY_INTEGER;
    *route = key_;
    *argv = {"SET", key_ + ":done", "1"};
    return true;
  }
  bool same_connection() const noexcept override { return true; }

  int steps = 0;
  bool waited = false;

 private:
  std::string key_;
};

}  // namespace

TEST_CASE("pipeline: a follow-up chain runs each step on the first command's connection before waking the caller",
          "[redis][pipeline]") {
  RedisServer server;
  Topology topology(endpoint_of(server));
  Pipeline pipeline(topology, 3);
  WaitThenSet chain("chain");
  Reply reply;
  Status last;
  REQUIRE(pipeline.command("chain", {"INCR", "chain"}, &reply, chain, &last).is_ok());
  CHECK(reply->integer == 1);
  CHECK(chain.steps == 2);
  CHECK(chain.waited);
  CHECK(last.is_ok());
  REQUIRE(pipeline.command("chain", {"GET", "chain:done"}, &reply).is_ok());
  CHECK(reply_text(reply.get()) == "1");
}

TEST_CASE("notify: finish_all recovers when Redis lost its scripts", "[redis][pipeline][noscript]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  std::vector<OrderEvent> events{make_event(product, 1), make_event(product, 2)};
  for (const OrderEvent& event : events) REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  client.run({"SCRIPT", "FLUSH"});  // as after a Redis restart
  std::vector<PersistResult> results{PersistResult{RequestStatus::success, {}, 11},
                                     PersistResult{RequestStatus::failed, "already_purchased", 0}};
  std::vector<bool> finished(2, false);
  REQUIRE(stages.notifier().finish_all(events, results, &finished).is_ok());
  CHECK(finished == std::vector<bool>{true, true});
  RequestState state;
  REQUIRE(stages.notifier().lookup(events[0].request_id, &state).is_ok());
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == 11);
  REQUIRE(stages.notifier().lookup(events[1].request_id, &state).is_ok());
  CHECK(state.status == RequestStatus::failed);
  CHECK(sale.remaining() == 9);  // the failed one's stock came back
}

TEST_CASE("notify: finish_all with Redis down reports unavailable and leaves the batch unfinished", "[redis][notify]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 3);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  server.kill();
  std::vector<bool> finished(1, false);
  Status status = stages.notifier().finish_all({event}, {PersistResult{RequestStatus::success, {}, 5}}, &finished);
  CHECK(status.code() == Code::unavailable);
  CHECK(finished == std::vector<bool>{false});
}

TEST_CASE("admission under load: every accepted request is pending at once", "[redis][pipeline][admit]") {
  SaleFixture sale(1000000);
  auto& [server, stages, client, product] = sale;
  constexpr int kThreads = 16;
  constexpr int kAdmits = 50;
  std::atomic<int> problems{0};
  in_parallel(kThreads, [&, product = product](int t) {
    for (int i = 0; i < kAdmits; ++i) {
      OrderEvent event = make_event(product, 1000 + t * kAdmits + i);
      AdmitResult result = stages.admission().admit(AdmitRequest{event, ""});
      RequestState state;
      if (!result.status.is_ok() || result.request_id != event.request_id ||
          !stages.notifier().lookup(event.request_id, &state).is_ok() || state.status != RequestStatus::pending) {
        ++problems;
      }
    }
  });
  CHECK(problems == 0);
  CHECK(sale.remaining() == 1000000 - kThreads * kAdmits);
}

TEST_CASE("admission: after SCRIPT FLUSH the reloaded admit is still followed by its pending state",
          "[redis][pipeline][noscript]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  client.run({"SCRIPT", "FLUSH"});  // admit finds NOSCRIPT, loads and reruns; the SET follows the rerun
  OrderEvent event = make_event(product, 7);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  CHECK(client.text({"GET", keys::state(event.request_id)}) == "pending|0|");
  CHECK(client.integer({"TTL", keys::state(event.request_id)}) > 0);
}

}  // namespace flashsale::redis::test
