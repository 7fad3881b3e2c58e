// --sqlite PATH: each POST queues one new order row, and one writer thread
// inserts what is queued into the orders table of PATH, one transaction per
// batch. Like the consumer worker, a partial batch waits worker.linger.ms
// (2 ms) once for more. PATH must hold the flashsale schema already (make
// bench has flashsale-server lay it out), so the row, its unique request id
// and (user, product) indexes and the PRAGMAs are the sqlite plugin's.
//
// The ceiling of an embedded buy: the HTTP work plus one durable order per
// request, handed to a thread and batched, with no rate limit, admission,
// request state, outbox or relay. The writer's work runs on the same cores,
// so it counts against the requests/s exactly as the consumer's does.
#pragma once

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "post_work.h"

namespace flashsale::bench {

class SqliteOrders final : public PostWork {
 public:
  // Throws std::runtime_error naming the file when it cannot be used.
  explicit SqliteOrders(const std::string& path);
  ~SqliteOrders() override;  // writes what is queued, then stops

  bool once() override;

 private:
  struct Row {
    std::array<unsigned char, 16> request_id;  // time-ordered, as the server's UUIDv7 ids
    std::int64_t user_id;
    std::int64_t accepted_ms;
  };

  void write_batches();
  void write(const std::vector<Row>& batch);
  void check(int rc, const char* what);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::atomic<std::uint64_t> next_{1};
  std::atomic<bool> failed_{false};

  std::mutex mutex_;
  std::condition_variable queued_cv_;
  std::vector<Row> queued_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace flashsale::bench
