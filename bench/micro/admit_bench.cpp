// The admit stage alone, through the plugin as the server loads it: the
// memory family (in-process, a ceiling for the host's own overhead) and the
// redis family against a real redis-server this binary starts on a free
// loopback port (one admit = the admit.lua call, then the pending-state
// write; from many threads, buyers of one product share script calls:
// plugins/redis/admit_batches.h).
// Every iteration admits a distinct user on a stock of 10^9, so this is the
// success path. buy/memory is the memory family's whole per-buy cost on the
// HTTP and consumer threads: ratelimit allow, admit, the consumer's finish
// (success) and the GET /result lookup. Each run gets fresh stages
// (Setup/Teardown), so the memory outbox of one run is freed before the next.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "stage_loader.h"
#include "support/redis_server.h"

namespace flashsale::bench {

namespace {

std::atomic<UserId> next_user{1};
std::atomic<ProductId> next_product{1};
std::shared_ptr<Admission> admission;  // the stage of the current run
Stages stages;                         // all stages of the current run
ProductId product = 0;

test::RedisServer& scratch_redis() {
  // Started on first use, stopped (SIGKILL and reap) when the process exits.
  static test::RedisServer server(test::RedisServerOptions{false, {"--maxmemory-policy", "noeviction"}});
  return server;
}

void start_run(const std::map<std::string, std::string>& overrides) {
  stages = load_stages(overrides);
  admission = stages.admission;
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
  stages = Stages{};
}

void BM_Admit(benchmark::State& state) {
  for (auto _ : state) {
    AdmitRequest request;
    request.event = order_event(product, next_user++);
    AdmitResult result = admission->admit(request);
    if (!result.status.is_ok()) {
      state.SkipWithError(("admit: " + result.status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Buy(benchmark::State& state) {
  for (auto _ : state) {
    UserId user = next_user++;
    bool allowed = false;
    Status limited = stages.ratelimit->allow("u:" + std::to_string(user), &allowed);
    AdmitRequest request;
    request.event = order_event(product, user);
    AdmitResult result = admission->admit(request);
    Status finished = stages.notifier->finish(request.event, PersistResult{RequestStatus::success, {}, user});
    RequestState found;
    Status looked_up = stages.notifier->lookup(result.request_id, &found);
    if (!limited.is_ok() || !allowed || !result.status.is_ok() || !finished.is_ok() || !looked_up.is_ok()) {
      state.SkipWithError("buy: a stage refused");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// FLASHSALE_BENCH_ITERATIONS=N runs every benchmark N iterations, so that two
// builds compare under callgrind at the same table sizes (the cost of growing
// a table, amortized per insert, depends on where the run stops).
void fixed_if_asked(benchmark::internal::Benchmark* benchmark) {
  if (const char* iterations = std::getenv("FLASHSALE_BENCH_ITERATIONS")) benchmark->Iterations(std::atoll(iterations));
}

}  // namespace

BENCHMARK(BM_Buy)
    ->Name("buy/memory")
    ->Setup(setup_memory)
    ->Teardown(end_run)
    ->ThreadRange(1, 2)
    ->UseRealTime()
    ->Apply(fixed_if_asked);
BENCHMARK(BM_Admit)
    ->Name("admit/memory")
    ->Setup(setup_memory)
    ->Teardown(end_run)
    ->ThreadRange(1, 8)
    ->UseRealTime()
    ->Apply(fixed_if_asked);
BENCHMARK(BM_Admit)->Name("admit/redis")->Setup(setup_redis)->Teardown(end_run)->ThreadRange(1, 16)->UseRealTime();

}  // namespace flashsale::bench
