// What the memory admit stage knows about one product: its preloaded stock
// and sale window, the user locks, the idempotency keys, the requests already
// compensated and the orders whose stock came back. One mutex guards all of
// it, so the admit, notify and stock-return steps of a product are atomic and
// different products never contend. The
// maps that grow with every buyer are segmented (segmented_map.h) and keep
// request ids packed (request_key.h): the lock is held for as little as we can.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "adaptive_mutex.h"
#include "flashsale/types.h"
#include "request_key.h"
#include "segmented_map.h"

namespace flashsale::memory {

struct IdempotencyRecord {
  UserId user_id = 0;
  std::int32_t quantity = 0;
  RequestKey request_id;       // the request the key first admitted
  UnixMillis admitted_ms = 0;  // when, by the store's clock
};

struct ProductLedger {
  AdaptiveMutex mutex;

  bool preloaded = false;
  std::int64_t remaining = 0;
  UnixMillis start_ms = 0;
  UnixMillis end_ms = 0;
  UnixMillis expires_ms = 0;  // stock forgotten from then on; 0 = never
  // The product's, not the stock level's: kept across re-preloads and stock
  // expiry, so a paused sale never opens by itself.
  bool paused = false;

  // Kept across re-preloads and stock expiry: they are what stops a second
  // purchase, so only a failed request's compensation or a cancelled order's
  // stock return removes a lock.
  SegmentedMap<std::unordered_map<UserId, RequestKey>, 64> user_locks;  // user -> request_id holding it
  SegmentedMap<std::unordered_map<std::string, IdempotencyRecord>, 64> idempotency;
  std::unordered_set<std::string> compensated;  // request_ids whose stock came back
  // Cancelled orders whose stock came back into this stock level. Cleared
  // when stock is loaded again: that preload counts from the persist stage,
  // which still holds a return that is not complete, so the return must
  // count once more (the Redis family's marker expires with its stock alike).
  std::unordered_set<OrderId> returned;
  std::unordered_set<TopUpId> topped_up;  // the same for top-ups

  bool stocked(UnixMillis now) const { return preloaded && (expires_ms == 0 || now < expires_ms); }
};

}  // namespace flashsale::memory
