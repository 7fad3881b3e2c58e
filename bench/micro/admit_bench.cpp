// The admit stage alone, through the plugin as the server loads it: the
// memory family (in-process, a ceiling for the host's own overhead) and the
// redis family against a real redis-server this binary starts on a free
// loopback port (one admit = the admit.lua call and, right behind its reply on
// the plugin's pipeline, the pending-state write; from many threads the
// pipeline batches them).
// Every iteration admits a distinct user on a stock of 10^9, so this is the
// success path. Each run gets fresh stages (Setup/Teardown), so the memory
// outbox of one run is freed before the next.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

#include "stage_loader.h"
#include "support/redis_server.h"

namespace flashsale::bench {

namespace {

std::atomic<UserId> next_user{1};
std::atomic<ProductId> next_product{1};
std::shared_ptr<Admission> admission;  // the stage of the current run
ProductId product = 0;

test::RedisServer& scratch_redis() {
  // Started on first use, stopped (SIGKILL and reap) when the process exits.
  static test::RedisServer server(test::RedisServerOptions{false, {"--maxmemory-policy", "noeviction"}});
  return server;
}

void start_run(const std::map<std::string, std::string>& overrides) {
  admission = load_stages(overrides).admission;
  product = next_product++;
  Status loaded = admission->load_stock(big_stock(product, 1'000'000'000));
  if (!loaded.is_ok()) throw std::runtime_error("load_stock: " + loaded.message());
}

void setup_memory(const benchmark::State&) {
  start_run({});
}

void setup_redis(const benchmark::State&) {
  start_run({{"STAGE_ADMIT", "redis"},
             {"STAGE_OUTBOX", "redis"},
             {"STAGE_NOTIFY", "redis"},
             {"REDIS_ADDR", scratch_redis().addr()},
             {"REDIS_POOL_SIZE", "32"}});
}

void end_run(const benchmark::State&) {
  admission.reset();
}

void BM_Admit(benchmark::State& state) {
  for (auto _ : state) {
    AdmitRequest request{order_event(product, next_user++), {}};
    AdmitResult result = admission->admit(request);
    if (!result.status.is_ok()) {
      state.SkipWithError(("admit: " + result.status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_Admit)->Name("admit/memory")->Setup(setup_memory)->Teardown(end_run)->ThreadRange(1, 8)->UseRealTime();
BENCHMARK(BM_Admit)->Name("admit/redis")->Setup(setup_redis)->Teardown(end_run)->ThreadRange(1, 16)->UseRealTime();

}  // namespace flashsale::bench
