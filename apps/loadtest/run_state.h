// What a load test run records while it runs, shared by the sending workers,
// the result pollers and the progress line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace flashsale::loadtest {

using Clock = std::chrono::steady_clock;

struct UserRecord {
  std::string first_id;  // request_id of the first click, when accepted
  std::string retry_id;  // request_id the idempotent resend got, when accepted
  int retry_status = 0;  // HTTP status of the resend (0: no resend)
  int first_status = 0;
  int dup_status = 0;  // HTTP status of the second, distinct click (0: none)
  std::string dup_id;
};

struct Accepted {
  std::string request_id;
  std::int64_t user = 0;
  Clock::time_point at;
};

struct RunState {
  std::atomic<std::int64_t> sent{0};
  std::atomic<bool> sending_done{false};
  double send_seconds = 0;  // the sending phase alone: throughput is measured over it
  // Set when sending ends: pollers give up on requests still open after it.
  std::atomic<Clock::rep> poll_deadline{Clock::time_point::max().time_since_epoch().count()};
  bool past_poll_deadline() const { return Clock::now().time_since_epoch().count() > poll_deadline.load(); }

  std::mutex mutex;                              // guards everything below
  std::map<int, std::int64_t> by_status;         // HTTP status → count (0 = transport error)
  std::map<std::string, std::int64_t> by_error;  // error code → count
  std::vector<double> latency_ms;
  std::map<std::int64_t, UserRecord> users;
  std::vector<Accepted> accepted;  // every distinct accepted request_id, in order
  std::set<std::string> accepted_ids;

  // Filled by the pollers.
  std::map<std::string, std::string> final_status;  // request_id → success|failed
  std::map<std::string, std::string> final_reason;
  std::map<std::string, std::int64_t> final_order;  // request_id → order_id, when success
  std::vector<double> final_latency_ms;
};

}  // namespace flashsale::loadtest
