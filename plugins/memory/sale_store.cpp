// The atomic admit and notify steps of the memory family; see sale_store.h.
// Each step runs under its product's ledger lock, which is what makes "check
// key, window, lock and stock, then decrement, lock, mark pending and append
// to the outbox" one indivisible operation.
#include "sale_store.h"

#include <mutex>
#include <utility>

namespace flashsale::memory {

namespace {

AdmitResult refused(Code code, std::string message) {
  return AdmitResult{Status(code, std::move(message)), {}, false};
}

}  // namespace

SaleStore::SaleStore(StoreOptions options)
    : clock_(options.clock),
      states_(options.state_ttl_ms, options.clock),
      outbox_(options.claim_idle, options.max_deliveries) {}

ProductLedger* SaleStore::find(ProductId product_id) {
  std::shared_lock lock(ledgers_mutex_);
  auto found = ledgers_.find(product_id);
  return found == ledgers_.end() ? nullptr : found->second.get();
}

ProductLedger& SaleStore::find_or_add(ProductId product_id) {
  if (ProductLedger* ledger = find(product_id)) return *ledger;
  std::unique_lock lock(ledgers_mutex_);
  std::unique_ptr<ProductLedger>& slot = ledgers_[product_id];
  if (!slot) slot = std::make_unique<ProductLedger>();
  return *slot;
}

AdmitResult SaleStore::admit(const AdmitRequest& request) {
  const OrderEvent& event = request.event;
  if (event.request_id.empty() || event.quantity <= 0) {
    return refused(Code::invalid_argument, "admit needs a request_id and a positive quantity");
  }
  states_.sweep_if_due();
  ProductLedger* ledger = find(event.product_id);
  if (ledger == nullptr) return refused(Code::not_preloaded, "product is not preloaded");
  std::lock_guard lock(ledger->mutex);
  return admit_locked(*ledger, request);
}

AdmitResult SaleStore::admit_locked(ProductLedger& ledger, const AdmitRequest& request) {
  const OrderEvent& event = request.event;
  const std::string& key = request.idempotency_key;
  if (!key.empty()) {
    auto hit = ledger.idempotency.find(key);
    if (hit != ledger.idempotency.end()) {
      const IdempotencyRecord& earlier = hit->second;
      if (earlier.user_id != event.user_id || earlier.quantity != event.quantity) {
        return refused(Code::idempotency_key_reused, "idempotency key was used with a different user or quantity");
      }
      return AdmitResult{Status::ok(), earlier.request_id, true};
    }
  }
  UnixMillis now = clock_();
  if (!ledger.stocked(now)) return refused(Code::not_preloaded, "product is not preloaded");
  if (now < ledger.start_ms || now >= ledger.end_ms) return refused(Code::sale_not_active, "sale is not active");
  if (ledger.user_locks.count(event.user_id) != 0) {
    return refused(Code::already_purchased, "user already holds an order for this product");
  }
  if (ledger.remaining < event.quantity) return refused(Code::sold_out, "sold out");

  // All or nothing: the stock moves only after every insertion succeeded, and
  // a failed insertion undoes the earlier ones.
  ledger.user_locks.emplace(event.user_id, event.request_id);
  try {
    if (!key.empty())
      ledger.idempotency.emplace(key, IdempotencyRecord{event.user_id, event.quantity, event.request_id});
    states_.put(RequestState{event.request_id, RequestStatus::pending, {}, 0});
    outbox_.append(event);
  } catch (...) {
    ledger.user_locks.erase(event.user_id);
    if (!key.empty()) ledger.idempotency.erase(key);
    states_.erase(event.request_id);
    throw;
  }
  ledger.remaining -= event.quantity;
  return AdmitResult{Status::ok(), event.request_id, false};
}

Status SaleStore::load_stock(const SaleStock& stock) {
  if (stock.sellable < 0 || stock.ttl_seconds < 0 || stock.end_ms < stock.start_ms) {
    return Status(Code::invalid_argument, "stock needs sellable >= 0, ttl_seconds >= 0 and start_ms <= end_ms");
  }
  ProductLedger& ledger = find_or_add(stock.product_id);
  std::lock_guard lock(ledger.mutex);
  // A live level is kept: admissions in flight are not persisted yet, so the
  // caller's "initial minus persisted" would resell them (admission.h).
  if (ledger.stocked(clock_())) return Status::ok();
  ledger.preloaded = true;
  ledger.remaining = stock.sellable;
  ledger.start_ms = stock.start_ms;
  ledger.end_ms = stock.end_ms;
  ledger.expires_ms = stock.ttl_seconds == 0 ? 0 : clock_() + stock.ttl_seconds * 1000;
  return Status::ok();
}

StockLevel SaleStore::stock(ProductId product_id) {
  ProductLedger* ledger = find(product_id);
  if (ledger == nullptr) return StockLevel{};
  std::lock_guard lock(ledger->mutex);
  if (!ledger->stocked(clock_())) return StockLevel{};
  return StockLevel{true, ledger->remaining};
}

Status SaleStore::finish(const OrderEvent& event, const PersistResult& result) {
  if (event.request_id.empty() || result.status == RequestStatus::pending) {
    return Status(Code::invalid_argument, "finish needs a request_id and a final status");
  }
  states_.sweep_if_due();
  bool failed = result.status == RequestStatus::failed;
  RequestState state{event.request_id, result.status, failed ? result.reason : std::string(),
                     failed ? 0 : result.order_id};
  if (!failed) {
    states_.put(state);
    return Status::ok();
  }
  ProductLedger& ledger = find_or_add(event.product_id);
  std::lock_guard lock(ledger.mutex);
  // Marked even when there is no stock to restore (never preloaded, or
  // expired): a later preload counts from persisted orders, so restoring
  // after it would sell the unit twice.
  if (ledger.compensated.insert(event.request_id).second && ledger.stocked(clock_())) {
    ledger.remaining += event.quantity;
  }
  auto held = ledger.user_locks.find(event.user_id);
  if (held != ledger.user_locks.end() && held->second == event.request_id) ledger.user_locks.erase(held);
  // If this throws, a retried finish skips the done compensation and writes the state.
  states_.put(state);
  return Status::ok();
}

Status SaleStore::lookup(const std::string& request_id, RequestState* out) {
  if (!states_.get(request_id, out)) return Status(Code::not_found, "no state for request " + request_id);
  return Status::ok();
}

Status SaleStore::backfill(const RequestState& state) {
  if (state.request_id.empty()) return Status(Code::invalid_argument, "backfill needs a request_id");
  states_.sweep_if_due();
  states_.put(state);
  return Status::ok();
}

}  // namespace flashsale::memory
