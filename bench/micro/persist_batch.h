// What both persist benchmarks write: the same batch size, the same number of
// batches, and orders for distinct users with request ids made by
// new_request_id(), the server's own (time-ordered UUIDv7), so the unique
// index on request_id grows the way it does behind a real server.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <vector>

#include "stage_loader.h"

namespace flashsale::bench {

inline constexpr int kPersistBatch = 256;
inline constexpr benchmark::IterationCount kPersistBatches = 400;  // 102,400 orders
// How long a new order has to be paid: as in a sale, no order is due during a run.
inline constexpr std::int64_t kPersistPaymentTimeoutMs = 15 * 60 * 1000;

inline constexpr ProductId kPersistProduct = 7;

inline std::vector<OrderEvent> next_persist_batch() {
  static std::atomic<UserId> next_user{1};
  return order_batch(kPersistProduct, next_user.fetch_add(kPersistBatch), kPersistBatch);
}

}  // namespace flashsale::bench
