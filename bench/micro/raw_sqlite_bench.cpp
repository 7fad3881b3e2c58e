// The baseline of persist/sqlite_plugin: what SQLite itself does for the same
// work with nothing around it. The sqlite plugin creates the file (so the
// schema and its unique indexes are exactly the plugin's), then this writes
// each batch as BEGIN; two plain INSERTs per order (orders, order_requests);
// COMMIT, through prepared statements on one connection with the plugin's
// PRAGMAs. No lookup of an earlier outcome, no conflict handling.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <memory>
#include <stdexcept>

#include "flashsale/clock.h"
#include "persist_batch.h"
#include "support/temp_dir.h"

namespace flashsale::bench {

namespace {

class RawOrderWriter {
 public:
  explicit RawOrderWriter(const std::string& path) {
    check(sqlite3_open(path.c_str(), &db_), "open");
    for (const char* pragma : {"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                               "PRAGMA cache_size = -32768", "PRAGMA wal_autocheckpoint = 10000"}) {
      check(sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr), pragma);
    }
    check(sqlite3_prepare_v2(db_,
                             "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount,"
                             " accepted_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?4 * ?5, ?6, ?7)",
                             -1, &insert_order_, nullptr),
          "prepare orders");
    check(sqlite3_prepare_v2(db_,
                             "INSERT INTO order_requests (request_id, user_id, product_id, quantity, status, reason,"
                             " order_id, updated_ms) VALUES (?1, ?2, ?3, ?4, 'success', NULL, ?5, ?6)",
                             -1, &insert_request_, nullptr),
          "prepare order_requests");
  }
  ~RawOrderWriter() {
    sqlite3_finalize(insert_order_);
    sqlite3_finalize(insert_request_);
    sqlite3_close(db_);
  }

  void write(const std::vector<OrderEvent>& batch) {
    check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
    UnixMillis now = now_ms();
    for (const OrderEvent& e : batch) {
      sqlite3_bind_text(insert_order_, 1, e.request_id.data(), static_cast<int>(e.request_id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert_order_, 2, e.user_id);
      sqlite3_bind_int64(insert_order_, 3, e.product_id);
      sqlite3_bind_int64(insert_order_, 4, e.quantity);
      sqlite3_bind_int64(insert_order_, 5, e.unit_price);
      sqlite3_bind_int64(insert_order_, 6, e.accepted_ms);
      sqlite3_bind_int64(insert_order_, 7, now);
      step(insert_order_, "insert order");
      sqlite3_bind_text(insert_request_, 1, e.request_id.data(), static_cast<int>(e.request_id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert_request_, 2, e.user_id);
      sqlite3_bind_int64(insert_request_, 3, e.product_id);
      sqlite3_bind_int64(insert_request_, 4, e.quantity);
      sqlite3_bind_int64(insert_request_, 5, sqlite3_last_insert_rowid(db_));
      sqlite3_bind_int64(insert_request_, 6, now);
      step(insert_request_, "insert order_request");
    }
    check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
  }

 private:
  void check(int rc, const char* what) {
    if (rc != SQLITE_OK) throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  void step(sqlite3_stmt* statement, const char* what) {
    int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_order_ = nullptr;
  sqlite3_stmt* insert_request_ = nullptr;
};

std::unique_ptr<test::TempDir> dir;
std::unique_ptr<RawOrderWriter> writer;

void open_writer(const benchmark::State&) {
  dir = std::make_unique<test::TempDir>();
  std::string path = dir->file("orders.db");
  load_stages({{"STAGE_PERSIST", "sqlite"}, {"DB_PATH", path}});  // creates the schema, then closes
  writer = std::make_unique<RawOrderWriter>(path);
}

void close_writer(const benchmark::State&) {
  writer.reset();
  dir.reset();
}

void BM_PersistRawSqlite(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<OrderEvent> batch = next_persist_batch();
    state.ResumeTiming();
    try {
      writer->write(batch);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPersistBatch);
}

}  // namespace

BENCHMARK(BM_PersistRawSqlite)
    ->Name("persist/raw_sqlite_baseline")
    ->Setup(open_writer)
    ->Teardown(close_writer)
    ->Iterations(kPersistBatches)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace flashsale::bench
