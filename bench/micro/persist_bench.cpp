// The persist stage alone: the sqlite plugin's OrderStore::persist with
// batches of 256 distinct orders (the worker.batch.size default) into a fresh
// file. raw_sqlite_bench.cpp runs the baseline, plain batched sqlite3 inserts
// into the same schema, with the same iteration count so both tables end the
// run the same size.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

#include "persist_batch.h"
#include "stage_loader.h"
#include "support/temp_dir.h"

namespace flashsale::bench {

namespace {

std::unique_ptr<test::TempDir> dir;
std::shared_ptr<OrderStore> store;

void open_store(const benchmark::State&) {
  dir = std::make_unique<test::TempDir>();
  store = load_stages({{"STAGE_PERSIST", "sqlite"}, {"DB_PATH", dir->file("orders.db")}}).store;
}

void close_store(const benchmark::State&) {
  store.reset();
  dir.reset();
}

void BM_PersistPlugin(benchmark::State& state) {
  std::vector<PersistResult> results;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<OrderEvent> batch = next_persist_batch();
    state.ResumeTiming();
    Status status = store->persist(batch, &results);
    if (!status.is_ok() || results.back().status != RequestStatus::success) {
      state.SkipWithError(("persist: " + status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPersistBatch);
}

}  // namespace

BENCHMARK(BM_PersistPlugin)
    ->Name("persist/sqlite_plugin")
    ->Setup(open_store)
    ->Teardown(close_store)
    ->Iterations(kPersistBatches)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace flashsale::bench
