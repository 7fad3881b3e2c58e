#include "stampede.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <iostream>
#include <random>
#include <thread>

#include "api_client.h"

namespace flashsale::loadtest {

namespace {

using client::HttpClient;
using client::HttpReply;

// How often one open request is polled at most (and the resolution of the
// accepted->final figure).
constexpr std::chrono::milliseconds kPollInterval{25};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// With -rate, the k-th request overall is not sent before start + k / rate.
void pace(const Options& options, Clock::time_point start, std::atomic<std::int64_t>* tickets) {
  if (options.rate <= 0) return;
  std::int64_t ticket = (*tickets)++;
  auto due = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(ticket) / options.rate));
  std::this_thread::sleep_until(due);
}

// One click; records status, error code and latency. Returns the reply.
HttpReply click(HttpClient& client, std::int64_t product, std::int64_t user, const std::string& key, RunState* state) {
  std::string body =
      R"({"product_id":)" + std::to_string(product) + R"(,"user_id":)" + std::to_string(user) + R"(,"quantity":1})";
  auto start = Clock::now();
  HttpReply reply;
  try {
    reply = client.post("/api/flash_sale/buy", body, {{"X-Idempotency-Key", key}});
  } catch (const std::exception&) {
    reply.status = 0;  // transport error; the connection is rebuilt by the next request
  }
  double latency = ms_since(start);
  state->sent++;
  std::lock_guard lock(state->mutex);
  state->by_status[reply.status]++;
  if (reply.status != 202 && reply.status != 0) state->by_error[reply.error_code()]++;
  state->latency_ms.push_back(latency);
  // An idempotent replay returns an id already seen: it is one request.
  if (reply.status == 202 && state->accepted_ids.insert(reply.str("request_id")).second) {
    state->accepted.push_back({reply.str("request_id"), user, Clock::now()});
  }
  return reply;
}

void progress(RunState* state) {
  bool tty = isatty(STDOUT_FILENO) != 0;
  auto start = Clock::now();
  std::int64_t last = 0;
  while (!state->sending_done) {
    for (int i = 0; i < 10 && !state->sending_done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::int64_t sent = state->sent;
    std::string line;
    {
      std::lock_guard lock(state->mutex);
      line = "sent " + std::to_string(sent) + "  " + std::to_string(sent - last) + "/s  accepted " +
             std::to_string(state->accepted.size()) + "  final " + std::to_string(state->final_status.size());
      for (const auto& [status, count] : state->by_status) {
        line += "  " + std::to_string(status) + ":" + std::to_string(count);
      }
    }
    last = sent;
    line += "  (" + std::to_string(static_cast<int>(ms_since(start) / 1000)) + "s)";
    if (tty)
      std::printf("\r\033[K%s", line.c_str());
    else
      std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  if (tty) std::printf("\n");
}

// Follows accepted requests to their final state while the stampede runs.
void poll_results(const std::string& host, int port, RunState* state, std::size_t worker, std::size_t workers) {
  HttpClient client(host, port);
  std::size_t next = worker;  // this poller takes every workers-th accepted request
  std::deque<Accepted> open;
  for (;;) {
    {
      std::lock_guard lock(state->mutex);
      for (; next < state->accepted.size(); next += workers) open.push_back(state->accepted[next]);
    }
    if (open.empty()) {
      if (state->sending_done) {
        std::lock_guard lock(state->mutex);
        if (next >= state->accepted.size()) return;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (state->sending_done && state->past_poll_deadline()) return;
    auto round_start = Clock::now();
    std::size_t round = open.size();
    for (std::size_t i = 0; i < round; ++i) {
      Accepted item = std::move(open.front());
      open.pop_front();
      HttpReply reply;
      try {
        reply = client.get("/api/flash_sale/result/" + item.request_id);
      } catch (const std::exception&) {
      }
      std::string status = reply.status == 200 ? reply.str("status") : "";
      if (status == "success" || status == "failed") {
        std::lock_guard lock(state->mutex);
        state->final_status[item.request_id] = status;
        state->final_reason[item.request_id] = reply.str("reason");
        if (status == "success") state->final_order[item.request_id] = reply.num("order_id");
        state->final_latency_ms.push_back(ms_since(item.at));
      } else {
        open.push_back(std::move(item));
      }
    }
    std::this_thread::sleep_until(round_start + kPollInterval);
  }
}

}  // namespace

void run_stampede(const Options& options, std::int64_t product, std::int64_t user_base, RunState* state) {
  auto [host, port] = host_port(options.addr);
  std::mt19937_64 random(static_cast<std::uint64_t>(user_base));
  std::uniform_real_distribution<double> coin(0, 1);
  std::vector<std::uint8_t> flags(static_cast<std::size_t>(options.users));  // bit 0 retry, bit 1 dup
  for (auto& f : flags)
    f = static_cast<std::uint8_t>((coin(random) < options.retry_ratio ? 1 : 0) |
                                  (coin(random) < options.dup_ratio ? 2 : 0));

  auto start = Clock::now();
  auto stop_sending = [&] {
    return (options.requests > 0 && state->sent >= options.requests) ||
           (options.duration_sec > 0 && ms_since(start) > options.duration_sec * 1000);
  };
  std::atomic<std::int64_t> next_user{0};
  std::thread progress_line(progress, state);
  // Clients poll as a real one would: one GET at a time, each request at most
  // every kPollInterval. A few pollers keep rounds short without stealing the
  // server's CPU from the pipeline being measured.
  std::size_t pollers = static_cast<std::size_t>(std::clamp(options.concurrency / 4, 2, 16));
  std::atomic<std::int64_t> tickets{0};
  std::vector<std::thread> poll_threads;

  std::vector<std::thread> senders;
  for (int c = 0; c < options.concurrency; ++c) {
    senders.emplace_back([&, host = host, port = port] {
      HttpClient client(host, port);
      for (std::int64_t i = next_user++; i < options.users && !stop_sending(); i = next_user++) {
        std::int64_t user = user_base + i;
        std::string key = "lt-" + std::to_string(user);
        pace(options, start, &tickets);
        HttpReply first = click(client, product, user, key, state);
        UserRecord record;
        record.first_status = first.status;
        if (first.status == 202) record.first_id = first.str("request_id");
        if (flags[static_cast<std::size_t>(i)] & 1) {
          pace(options, start, &tickets);
          HttpReply retry = click(client, product, user, key, state);
          record.retry_status = retry.status;
          if (retry.status == 202) record.retry_id = retry.str("request_id");
        }
        if (flags[static_cast<std::size_t>(i)] & 2) {
          pace(options, start, &tickets);
          HttpReply dup = click(client, product, user, key + "-again", state);
          record.dup_status = dup.status;
          if (dup.status == 202) record.dup_id = dup.str("request_id");
        }
        std::lock_guard lock(state->mutex);
        state->users[user] = record;
      }
    });
  }
  for (std::size_t p = 0; p < pollers; ++p) {
    poll_threads.emplace_back([&, p, host = host, port = port] { poll_results(host, port, state, p, pollers); });
  }
  for (auto& t : senders) t.join();
  state->send_seconds = ms_since(start) / 1000;
  auto wait = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.wait_sec));
  state->poll_deadline = (Clock::now() + wait).time_since_epoch().count();
  state->sending_done = true;
  progress_line.join();
  std::cout << "sent " << state->sent << " requests in " << state->send_seconds << " s; waiting up to "
            << options.wait_sec << " s for final states" << std::endl;
  for (auto& t : poll_threads) t.join();
}

}  // namespace flashsale::loadtest
