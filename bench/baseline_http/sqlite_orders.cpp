#include "sqlite_orders.h"

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "sqlite_pragmas.h"

namespace flashsale::bench {

namespace {

constexpr std::size_t kBatch = 256;               // worker.batch.size's default
constexpr std::chrono::milliseconds kLinger{2};  // worker.linger.ms's default
constexpr std::int64_t kProduct = 1;
constexpr std::int64_t kUnitPrice = 100;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

SqliteOrders::SqliteOrders(const std::string& path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) throw std::runtime_error("--sqlite " + path + ": " + sqlite3_errstr(rc));
  for (const char* pragma : kPluginPragmas) check(sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr), pragma);
  check(sqlite3_prepare_v2(db_,
                           "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount,"
                           " accepted_ms, created_ms) VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5, ?6)",
                           -1, &insert_, nullptr),
        "prepare the insert into orders (is the flashsale schema in the file?)");
  writer_ = std::thread([this] { write_batches(); });
}

SqliteOrders::~SqliteOrders() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_cv_.notify_all();
  writer_.join();
  sqlite3_finalize(insert_);
  sqlite3_close(db_);
}

bool SqliteOrders::once() {
  std::uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  std::int64_t now = now_ms();
  Row row{{}, static_cast<std::int64_t>(n), now};
  // Big-endian milliseconds, then the counter: ids sort by time, as UUIDv7s do.
  for (int i = 0; i < 8; ++i) {
    row.request_id[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(now) >> (56 - 8 * i));
    row.request_id[8 + i] = static_cast<unsigned char>(n >> (56 - 8 * i));
  }
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(row);
  }
  queued_cv_.notify_all();
  return !failed_.load(std::memory_order_relaxed);
}

void SqliteOrders::write_batches() {
  std::vector<Row> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      queued_cv_.wait(lock, [&] { return !queued_.empty() || stopping_; });
      if (queued_.empty()) return;
      if (queued_.size() < kBatch && !stopping_) {
        lock.unlock();
        std::this_thread::sleep_for(kLinger);
        lock.lock();
      }
      batch.swap(queued_);
    }
    try {
      write(batch);
    } catch (const std::exception& e) {
      if (!failed_.exchange(true)) std::cerr << "baseline: sqlite write failed: " << e.what() << std::endl;
    }
    batch.clear();
  }
}

void SqliteOrders::write(const std::vector<Row>& batch) {
  check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
  std::int64_t now = now_ms();
  for (const Row& row : batch) {
    sqlite3_bind_blob(insert_, 1, row.request_id.data(), static_cast<int>(row.request_id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 2, row.user_id);
    sqlite3_bind_int64(insert_, 3, kProduct);
    sqlite3_bind_int64(insert_, 4, kUnitPrice);
    sqlite3_bind_int64(insert_, 5, row.accepted_ms);
    sqlite3_bind_int64(insert_, 6, now);
    int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) {
      std::string why = sqlite3_errmsg(db_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw std::runtime_error("insert order: " + why);
    }
  }
  check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
}

void SqliteOrders::check(int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_));
}

}  // namespace flashsale::bench
