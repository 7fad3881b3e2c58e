// What the memory admit stage knows about one product: its preloaded stock
// and sale window, the user locks, the idempotency keys and the requests
// already compensated. One mutex guards all of it, so the admit and notify
// steps of a product are atomic and different products never contend.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "flashsale/types.h"

namespace flashsale::memory {

struct IdempotencyRecord {
  UserId user_id = 0;
  std::int32_t quantity = 0;
  std::string request_id;  // the request the key first admitted
};

struct ProductLedger {
  std::mutex mutex;

  bool preloaded = false;
  std::int64_t remaining = 0;
  UnixMillis start_ms = 0;
  UnixMillis end_ms = 0;
  UnixMillis expires_ms = 0;  // stock forgotten from then on; 0 = never

  // Kept across re-preloads and stock expiry: they are what stops a second
  // purchase, so only a failed request's compensation removes a lock.
  std::unordered_map<UserId, std::string> user_locks;  // user -> request_id holding it
  std::unordered_map<std::string, IdempotencyRecord> idempotency;
  std::unordered_set<std::string> compensated;  // request_ids whose stock came back

  bool stocked(UnixMillis now) const { return preloaded && (expires_ms == 0 || now < expires_ms); }
};

}  // namespace flashsale::memory
