// The persist stage alone: the sqlite plugin's OrderStore::persist with
// batches of 256 distinct orders (the worker.batch.size default) into a fresh
// file. raw_sqlite_bench.cpp runs the baseline, plain batched sqlite3 inserts
// into the same schema, with the same iteration count so both tables end the
// run the same size. Beside it, the same persist with an expirer thread calling
// expire_due every millisecond on the same store with nothing due (deadlines
// 15 minutes out, as during a sale): the expiry must not slow persist.
// persist/postgres_plugin is the same persist through the postgres plugin,
// into a fresh schema on the server POSTGRES_DSN names (skipped without it);
// raw_postgres_bench.cpp is its baseline.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "flashsale/clock.h"
#include "persist_batch.h"
#include "postgres_scratch.h"
#include "stage_loader.h"
#include "support/temp_dir.h"

namespace flashsale::bench {

namespace {

std::unique_ptr<test::TempDir> dir;
std::shared_ptr<OrderStore> store;

// Creates products in a fresh store until next_persist_batch's product
// exists: a store fails the events of a product never created.
void create_batch_product(OrderStore& fresh) {
  Product created;
  do {
    NewProduct product{"bench", 1'000'000'000, 100, 0, 4'102'444'800'000};
    if (!fresh.create_product(product, &created).is_ok()) throw std::runtime_error("cannot create the bench product");
  } while (created.id < kPersistProduct);
}

void open_store(const benchmark::State&) {
  dir = std::make_unique<test::TempDir>();
  store = load_stages({{"STAGE_PERSIST", "sqlite"}, {"DB_PATH", dir->file("orders.db")}}).store;
  create_batch_product(*store);
}

void close_store(const benchmark::State&) {
  store.reset();
  dir.reset();
}

std::unique_ptr<ScratchSchema> schema;
std::string postgres_setup_error;  // why open_postgres_store could not open one

void open_postgres_store(const benchmark::State&) {
  postgres_setup_error.clear();
  try {
    schema = std::make_unique<ScratchSchema>();
    store = load_stages({{"STAGE_PERSIST", "postgres"}, {"POSTGRES_DSN", schema->dsn()}}).store;
    create_batch_product(*store);
    schema->checkpoint();
  } catch (const std::exception& e) {
    postgres_setup_error = e.what();
  }
}

void close_postgres_store(const benchmark::State&) {
  store.reset();
  schema.reset();
}

// The expirer of BM_PersistPluginWithExpirer, on the store open_store made.
std::thread expirer;
std::atomic<bool> expirer_stopping{false};
std::atomic<std::int64_t> expiry_scans{0};
std::atomic<std::int64_t> expiry_failures{0};  // errors, or orders cancelled though none was due

void open_store_with_expirer(const benchmark::State& state) {
  open_store(state);
  expirer_stopping = false;
  expiry_scans = 0;
  expiry_failures = 0;
  expirer = std::thread([] {
    std::vector<Order> cancelled;
    auto next = std::chrono::steady_clock::now();
    while (!expirer_stopping) {
      if (!store->expire_due(now_ms(), 256, &cancelled).is_ok() || !cancelled.empty()) ++expiry_failures;
      ++expiry_scans;
      next += std::chrono::milliseconds(1);
      std::this_thread::sleep_until(next);
    }
  });
}

void close_store_with_expirer(const benchmark::State& state) {
  expirer_stopping = true;
  expirer.join();
  close_store(state);
}

void persist_batches(benchmark::State& state) {
  std::vector<PersistResult> results;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<OrderEvent> batch = next_persist_batch();
    state.ResumeTiming();
    Status status = store->persist(batch, kPersistPaymentTimeoutMs, &results);
    if (!status.is_ok() || results.back().status != RequestStatus::success) {
      state.SkipWithError(("persist: " + status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPersistBatch);
}

void BM_PersistPlugin(benchmark::State& state) {
  persist_batches(state);
}

void BM_PersistPostgresPlugin(benchmark::State& state) {
  if (!postgres_setup_error.empty()) {
    state.SkipWithError(postgres_setup_error.c_str());
    return;
  }
  persist_batches(state);
}

void BM_PersistPluginWithExpirer(benchmark::State& state) {
  persist_batches(state);
  if (expiry_failures != 0) state.SkipWithError("expire_due failed or cancelled an order not yet due");
  state.counters["expiry_scans"] = static_cast<double>(expiry_scans.load());
}

}  // namespace

BENCHMARK(BM_PersistPlugin)
    ->Name("persist/sqlite_plugin")
    ->Setup(open_store)
    ->Teardown(close_store)
    ->Iterations(kPersistBatches)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_PersistPluginWithExpirer)
    ->Name("persist/sqlite_plugin_with_expirer")
    ->Setup(open_store_with_expirer)
    ->Teardown(close_store_with_expirer)
    ->Iterations(kPersistBatches)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Registered only with a server to run against.
[[maybe_unused]] const bool postgres_registered = [] {
  if (postgres_dsn() == nullptr) return false;
  benchmark::RegisterBenchmark("persist/postgres_plugin", BM_PersistPostgresPlugin)
      ->Setup(open_postgres_store)
      ->Teardown(close_postgres_store)
      ->Iterations(kPersistBatches)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace flashsale::bench
