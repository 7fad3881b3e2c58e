// flashsale-loadtest's command line.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace flashsale::loadtest {

struct Options {
  std::string addr = "127.0.0.1:8080";
  std::string admin_token = "dev-admin-token";
  std::int64_t product = 0;       // existing, preloaded product (or made by create_stock)
  std::int64_t create_stock = 0;  // > 0: create and preload a fresh product with this stock
  std::int64_t stock_shards = 1;  // the fresh product's stock_shards
  std::int64_t users = 1000;
  int concurrency = 50;
  double dup_ratio = 0;       // users who click twice (second click without the key)
  double retry_ratio = 0;     // users who resend with the same idempotency key
  double duration_sec = 0;    // stop sending after this long (0 = no limit)
  std::int64_t requests = 0;  // stop after this many requests (0 = no limit)
  double rate = 0;            // target requests/s over all connections (0 = as fast as they go)
  double wait_sec = 60;       // how long to poll for final states
  std::string json_file;
  // The order lifecycle after the stampede (lifecycle.h), on when either ratio is given.
  bool lifecycle = false;
  double pay_ratio = 0;     // share of the winners who pay, each at a random time before its deadline
  double cancel_ratio = 0;  // share of the winners who cancel; the rest let the order expire
  std::string webhook_secret = "dev-webhook-secret";  // signs the payments (the server's payment.webhook.secret)
};

// Parses argv; on a bad flag prints usage and exits with 2.
Options parse_options(int argc, char** argv);

// "host:port" of -addr, split (parse_options has checked it).
std::pair<std::string, int> host_port(const std::string& addr);

}  // namespace flashsale::loadtest
