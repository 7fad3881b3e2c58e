// The one store the memory admit, outbox and notify stages share: the memory
// counterpart of the Redis keys the Lua scripts touch. Products live in
// ledgers with one lock each; request states and the outbox have locks of
// their own, taken after a ledger's (ledger -> outbox) or with no ledger lock
// held (states), never the other way round. The Backend owns the store; each stage
// holds a shared_ptr to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "flashsale/admission.h"
#include "flashsale/order_store.h"
#include "memory_clock.h"
#include "outbox_queue.h"
#include "product_ledger.h"
#include "request_states.h"

namespace flashsale::memory {

struct StoreOptions {
  std::int64_t state_ttl_ms = 86400 * 1000;
  std::chrono::milliseconds claim_idle{30000};
  std::uint32_t max_deliveries = 16;
  Clock clock;
};

class SaleStore {
 public:
  explicit SaleStore(StoreOptions options);

  // The steps of admission.h and notifier.h. They throw only on allocation
  // failure, and then change nothing; the stages catch at the boundary.
  AdmitResult admit(const AdmitRequest& request);
  Status load_stock(const SaleStock& stock);
  StockLevel stock(ProductId product_id);
  Status finish(const OrderEvent& event, const PersistResult& result);
  Status return_stock(const StockReturn& stock_return);
  void set_paused(ProductId product_id, bool paused);
  Status lookup(const std::string& request_id, RequestState* out);
  Status backfill(const RequestState& state);

  OutboxQueue& outbox() { return outbox_; }
  RequestStates& states() { return states_; }

 private:
  ProductLedger* find(ProductId product_id);
  ProductLedger& find_or_add(ProductId product_id);
  AdmitResult admit_locked(ProductLedger& ledger, const AdmitRequest& request, const RequestKey& id, UnixMillis now,
                           std::optional<RequestKey>* replayed);

  const Clock clock_;
  const std::int64_t state_ttl_ms_;
  std::shared_mutex ledgers_mutex_;  // guards the map only; ledgers are never removed
  std::unordered_map<ProductId, std::unique_ptr<ProductLedger>> ledgers_;
  RequestStates states_;
  OutboxQueue outbox_;
};

}  // namespace flashsale::memory
