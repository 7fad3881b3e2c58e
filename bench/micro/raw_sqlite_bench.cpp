// The baseline of persist/sqlite_plugin: what SQLite itself does for the same
// work with nothing around it. The sqlite plugin creates the file (so the
// schema and its indexes are exactly the plugin's), then this writes each
// batch as BEGIN; one plain INSERT into orders per order, its request id as
// the 16 bytes of the UUID (as the plugin keeps it); one upsert of the batch's
// totals into product_sales; COMMIT, through prepared statements on one
// connection with the plugin's PRAGMAs. The rows are the ones the plugin
// writes for the same batch of new orders, minus everything around them: no
// conflict handling, no check for an earlier failure of the request, no lookup
// of an earlier outcome, no plugin boundary.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>

#include "flashsale/clock.h"
#include "persist_batch.h"
#include "sqlite_pragmas.h"
#include "support/temp_dir.h"

namespace flashsale::bench {

namespace {

// The 16 bytes of a canonical UUID text, as the plugin stores a request id.
void uuid_bytes(const std::string& id, unsigned char out[16]) {
  if (id.size() != 36) throw std::runtime_error("not a UUID: " + id);
  auto nibble = [&](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("not a UUID: " + id);
  };
  std::size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
    out[i] = static_cast<unsigned char>(nibble(id[at]) << 4 | nibble(id[at + 1]));
    at += 2;
  }
}

class RawOrderWriter {
 public:
  explicit RawOrderWriter(const std::string& path) {
    check(sqlite3_open(path.c_str(), &db_), "open");
    for (const char* pragma : kPluginPragmas) check(sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr), pragma);
    check(sqlite3_prepare_v2(db_,
                             "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount,"
                             " accepted_ms, created_ms, deadline_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?4 * ?5, ?6, ?7, ?8)",
                             -1, &insert_order_, nullptr),
          "prepare orders");
    check(sqlite3_prepare_v2(
              db_,
              "INSERT INTO product_sales (product_id, orders, orders_awaiting_payment,"
              " quantity_awaiting_payment) VALUES (?1, ?2, ?2, ?3) ON CONFLICT (product_id) DO UPDATE SET"
              " orders = orders + excluded.orders,"
              " orders_awaiting_payment = orders_awaiting_payment + excluded.orders_awaiting_payment,"
              " quantity_awaiting_payment = quantity_awaiting_payment + excluded.quantity_awaiting_payment",
              -1, &add_sales_, nullptr),
          "prepare product_sales");
  }
  ~RawOrderWriter() {
    sqlite3_finalize(insert_order_);
    sqlite3_finalize(add_sales_);
    sqlite3_close(db_);
  }

  void write(const std::vector<OrderEvent>& batch) {
    check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
    UnixMillis now = now_ms();
    std::int64_t quantity = 0;
    for (const OrderEvent& e : batch) {
      unsigned char key[16];
      uuid_bytes(e.request_id, key);
      sqlite3_bind_blob(insert_order_, 1, key, sizeof key, SQLITE_STATIC);
      sqlite3_bind_int64(insert_order_, 2, e.user_id);
      sqlite3_bind_int64(insert_order_, 3, e.product_id);
      sqlite3_bind_int64(insert_order_, 4, e.quantity);
      sqlite3_bind_int64(insert_order_, 5, e.unit_price);
      sqlite3_bind_int64(insert_order_, 6, e.accepted_ms);
      sqlite3_bind_int64(insert_order_, 7, now);
      sqlite3_bind_int64(insert_order_, 8, now + kPersistPaymentTimeoutMs);
      step(insert_order_, "insert order");
      quantity += e.quantity;
    }
    // Every batch of persist_batch.h is for one product.
    sqlite3_bind_int64(add_sales_, 1, batch.front().product_id);
    sqlite3_bind_int64(add_sales_, 2, static_cast<std::int64_t>(batch.size()));
    sqlite3_bind_int64(add_sales_, 3, quantity);
    step(add_sales_, "add sales");
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
  sqlite3_stmt* add_sales_ = nullptr;
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
