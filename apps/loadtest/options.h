// flashsale-loadtest's command line.
#pragma once

#include <cstdint>
#include <string>

namespace flashsale::loadtest {

struct Options {
  std::string addr = "127.0.0.1:8080";
  std::string admin_token = "dev-admin-token";
  std::int64_t product = 0;       // existing, preloaded product (or made by create_stock)
  std::int64_t create_stock = 0;  // > 0: create and preload a fresh product with this stock
  std::int64_t users = 1000;
  int concurrency = 50;
  double dup_ratio = 0;       // users who click twice (second click without the key)
  double retry_ratio = 0;     // users who resend with the same idempotency key
  double duration_sec = 0;    // stop sending after this long (0 = no limit)
  std::int64_t requests = 0;  // stop after this many requests (0 = no limit)
  double rate = 0;            // target requests/s over all connections (0 = as fast as they go)
  double wait_sec = 60;       // how long to poll for final states
  std::string json_file;
};

// Parses argv; on a bad flag prints usage and exits with 2.
Options parse_options(int argc, char** argv);

}  // namespace flashsale::loadtest
