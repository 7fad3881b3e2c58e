// The atomic admit, notify and stock-return steps of the memory family; see
// sale_store.h. Each step runs under its product's ledger lock, which is what
// makes "check key, window, lock and stock, then decrement, lock and append to
// the outbox" one indivisible operation. The request states are written after
// the lock is released; SaleStore::admit says why that is still all or nothing
// to anyone who can look.
#include "sale_store.h"

#include <algorithm>
#include <mutex>
#include <new>
#include <optional>
#include <utility>

namespace flashsale::memory {

namespace {

// At most ~2 MiB of lock buckets per product reserved up front: a catalog of
// many preloaded products must not cost gigabytes, and past it the 64
// segments grow one at a time anyway.
constexpr std::int64_t kLocksReservedMax = 1 << 18;

AdmitResult refused(Code code, std::string message) {
  return AdmitResult{Status(code, std::move(message)), {}, false};
}

}  // namespace

SaleStore::SaleStore(StoreOptions options)
    : clock_(options.clock),
      state_ttl_ms_(options.state_ttl_ms),
      states_(options.state_ttl_ms, options.clock),
      outbox_(options.claim_idle, options.max_deliveries, options.clock) {}

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
  RequestKey id(event.request_id);
  std::optional<RequestKey> replayed;
  AdmitResult result;
  {
    std::lock_guard lock(ledger->mutex);
    result = admit_locked(*ledger, request, id, clock_(), &replayed);
  }
  // The pending state is written here, after the ledger lock, and only if the
  // request has no state yet (the memory twin of the Redis family's SET NX).
  // Why that is the same as writing it inside the lock:
  //  - Nobody can ask for the state before it is written: the id is fresh and
  //    only this call returns it, except to an idempotent replay, which writes
  //    the same "pending if absent" itself before it returns the id (below).
  //  - The consumer may finish the request before we get here (the event is in
  //    the outbox already). finish() writes the final state unconditionally
  //    and compensation happens under the ledger lock, so the late pending
  //    finds an entry and leaves it: a final state is never overwritten.
  //  - An entry, even expired, counts as present: only this request's own
  //    final state can be there, and it must not come back as pending.
  // Failing to allocate the state is not reported: the admission is in the
  // outbox and will be finished; an error would make the client retry a
  // purchase it already holds. /result then finds the persisted order.
  if (!result.status.is_ok() || (result.replayed && !replayed)) return result;
  try {
    states_.put_pending_if_absent(result.replayed ? *replayed : id);
  } catch (const std::bad_alloc&) {
  }
  return result;
}

// On a replay, *replayed receives the earlier request when its pending state
// may still be unwritten, so the caller writes it too. Not when the earlier
// admission is older than the state TTL: its state may have expired, and must
// not come back as pending.
AdmitResult SaleStore::admit_locked(ProductLedger& ledger, const AdmitRequest& request, const RequestKey& id,
                                    UnixMillis now, std::optional<RequestKey>* replayed) {
  const OrderEvent& event = request.event;
  const std::string& key = request.idempotency_key;
  if (!key.empty()) {
    auto& keys = ledger.idempotency.segment(key);
    auto hit = keys.find(key);
    if (hit != keys.end()) {
      const IdempotencyRecord& earlier = hit->second;
      if (earlier.user_id != event.user_id || earlier.quantity != event.quantity) {
        return refused(Code::idempotency_key_reused, "idempotency key was used with a different user or quantity");
      }
      if (now - earlier.admitted_ms < state_ttl_ms_) *replayed = earlier.request_id;
      return AdmitResult{Status::ok(), earlier.request_id.text(), true};
    }
  }
  if (ledger.paused) return refused(Code::sale_paused, "the sale of this product is paused");
  if (!ledger.stocked(now)) return refused(Code::not_preloaded, "product is not preloaded");
  if (now < ledger.start_ms || now >= ledger.end_ms) return refused(Code::sale_not_active, "sale is not active");
  auto& locks = ledger.user_locks.segment(event.user_id);
  if (locks.count(event.user_id) != 0) {
    return refused(Code::already_purchased, "user already holds an order for this product");
  }
  if (ledger.remaining < event.quantity) return refused(Code::sold_out, "sold out");

  // All or nothing: the stock moves only after every insertion succeeded, and
  // a failed insertion undoes the earlier ones.
  locks.emplace(event.user_id, id);
  try {
    if (!key.empty())
      ledger.idempotency.segment(key).emplace(key, IdempotencyRecord{event.user_id, event.quantity, id, now});
    outbox_.append(event, id);
  } catch (...) {
    locks.erase(event.user_id);
    if (!key.empty()) ledger.idempotency.segment(key).erase(key);
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
  // Sized for the stock up front (a user holds at least one unit), so that
  // selling it never rehashes the locks under this lock; bounded, as a huge
  // stock need not sell out, and past it the segments still grow one by one.
  ledger.user_locks.reserve(static_cast<std::size_t>(std::min<std::int64_t>(stock.sellable, kLocksReservedMax)));
  ledger.preloaded = true;
  ledger.remaining = stock.sellable;
  ledger.returned.clear();  // product_ledger.h says why
  ledger.topped_up.clear();
  ledger.start_ms = stock.start_ms;
  ledger.end_ms = stock.end_ms;
  ledger.expires_ms = stock.ttl_seconds == 0 ? 0 : clock_() + stock.ttl_seconds * 1000;
  return Status::ok();
}

StockLevel SaleStore::stock(ProductId product_id) {
  ProductLedger* ledger = find(product_id);
  if (ledger == nullptr) return StockLevel{};
  std::lock_guard lock(ledger->mutex);
  if (!ledger->stocked(clock_())) return StockLevel{false, 0, ledger->paused};
  return StockLevel{true, ledger->remaining, ledger->paused};
}

void SaleStore::set_paused(ProductId product_id, bool paused) {
  ProductLedger& ledger = find_or_add(product_id);
  std::lock_guard lock(ledger.mutex);
  ledger.paused = paused;
}

Status SaleStore::finish(const OrderEvent& event, const PersistResult& result) {
  if (event.request_id.empty() || result.status == RequestStatus::pending) {
    return Status(Code::invalid_argument, "finish needs a request_id and a final status");
  }
  states_.sweep_if_due();
  RequestKey id(event.request_id);
  if (result.status == RequestStatus::success) {
    states_.put(id, result.status, result.order_id, {});
    return Status::ok();
  }
  ProductLedger& ledger = find_or_add(event.product_id);
  {
    std::lock_guard lock(ledger.mutex);
    // Marked even when there is no stock to restore (never preloaded, or
    // expired): a later preload counts from persisted orders, so restoring
    // after it would sell the unit twice.
    if (ledger.compensated.insert(event.request_id).second && ledger.stocked(clock_())) {
      ledger.remaining += event.quantity;
    }
    auto& locks = ledger.user_locks.segment(event.user_id);
    auto held = locks.find(event.user_id);
    if (held != locks.end() && held->second == id) locks.erase(held);
  }
  // Outside the ledger lock, as admission's pending write. If this throws, a
  // retried finish skips the done compensation and writes the state.
  states_.put(id, result.status, 0, result.reason);
  return Status::ok();
}

namespace {

Status no_stock(const StockReturn& stock_return) {
  return Status(Code::not_preloaded, "product " + std::to_string(stock_return.product_id) + " has no stock loaded");
}

}  // namespace

Status SaleStore::return_stock(const StockReturn& stock_return) {
  if ((stock_return.request_id.empty() && !stock_return.is_top_up()) || stock_return.quantity <= 0) {
    return Status(Code::invalid_argument, "return_stock needs a request_id (or a top_up_id) and a positive quantity");
  }
  // No ledger: never preloaded, so there is neither stock nor a lock.
  ProductLedger* ledger = find(stock_return.product_id);
  if (ledger == nullptr) return no_stock(stock_return);
  std::lock_guard lock(ledger->mutex);
  // Without stock nothing is remembered: the return stays pending in the
  // persist stage, which the next preload counts as held, and comes again.
  bool stocked = ledger->stocked(clock_());
  if (stocked && (stock_return.is_top_up() ? ledger->topped_up.insert(stock_return.top_up_id).second
                                           : ledger->returned.insert(stock_return.order_id).second)) {
    ledger->remaining += stock_return.quantity;
  }
  if (!stock_return.is_top_up()) {
    RequestKey id(stock_return.request_id);
    auto& locks = ledger->user_locks.segment(stock_return.user_id);
    auto held = locks.find(stock_return.user_id);
    if (held != locks.end() && held->second == id) locks.erase(held);
  }
  return stocked ? Status::ok() : no_stock(stock_return);
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
