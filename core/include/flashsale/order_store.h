// Stage 5, persist: the system of record. Holds the product catalog, the
// orders with their lifecycle and one row per finished request. Unique
// request_id makes a redelivered event harmless; (user_id, product_id) unique
// among active orders (awaiting_payment or paid) backs one active order per
// user per product, so a buyer whose order was cancelled may buy again.
//
// The lifecycle (types.h, Order) is decided here and only here: every move of
// an order is one conditional write in the store, so a payment racing the
// expiry or a cancel has exactly one winner, whichever process runs them. A
// cancel records the order's stock return in the same write; the host hands
// the quantity back to the admit stage (Admission::return_stock) and then
// marks the return complete, so a crash in between leaves the return pending,
// never lost and never done twice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

// The outcome of persisting one event.
struct PersistResult {
  RequestStatus status = RequestStatus::failed;  // success or failed
  std::string reason;                            // why it failed
  OrderId order_id = 0;                          // when success
};

// A product's totals, exact at one instant (kept in the transactions that
// change them).
struct ProductSales {
  std::int64_t orders = 0;  // orders ever created, in any state
  std::int64_t failed_requests = 0;
  std::int64_t orders_awaiting_payment = 0;
  std::int64_t orders_paid = 0;
  std::int64_t orders_cancelled = 0;
  std::int64_t quantity_awaiting_payment = 0;
  std::int64_t quantity_paid = 0;
  std::int64_t quantity_cancelled = 0;
  // Quantity of cancelled orders whose return to the admit stage is not yet
  // complete (part of quantity_cancelled).
  std::int64_t quantity_returns_pending = 0;
  // Stock added to the sale by operators' top-ups (record_top_up), all of
  // them, and the part not yet complete in the admit stage.
  std::int64_t quantity_added = 0;
  std::int64_t quantity_top_ups_pending = 0;

  // What the admit stage must not sell again: held by active orders, or on
  // its way back (the return adds it when it completes).
  std::int64_t quantity_held() const { return quantity_awaiting_payment + quantity_paid + quantity_returns_pending; }
  // What the admit stage may sell beyond the initial stock: the top-ups it
  // has confirmed (one still pending adds itself when it completes).
  std::int64_t quantity_added_complete() const { return quantity_added - quantity_top_ups_pending; }

  // How each move of the lifecycle changes the totals, for a store that keeps
  // them (every in-tree one does, in the transaction of the move).
  void count_order_created(std::int64_t quantity) noexcept;
  void count_request_failed() noexcept { ++failed_requests; }
  void count_order_paid(std::int64_t quantity) noexcept;       // from awaiting_payment
  void count_order_cancelled(std::int64_t quantity) noexcept;  // from awaiting_payment; its return now pending
  void count_return_completed(std::int64_t quantity) noexcept { quantity_returns_pending -= quantity; }
  void count_top_up_recorded(std::int64_t quantity) noexcept;  // its return now pending
  void count_top_up_completed(std::int64_t quantity) noexcept { quantity_top_ups_pending -= quantity; }
};

// Thread-safety: every method may be called from many threads at once.
class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // Persists a batch in one transaction and sets (*results)[i] for events[i].
  // A new order is awaiting_payment with deadline_ms = created_ms +
  // payment_timeout_ms (created_ms by the store's clock). An event whose
  // request_id was persisted before gets the same result as the first time
  // (success with the same order_id, or the same failure), whatever happened
  // to that order since. An event whose (user, product) has an active order
  // fails with reason "already_purchased"; one for a product never created
  // fails with reason "unknown_product" and changes no totals. A non-ok
  // Status means nothing of the batch was written.
  virtual Status persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                         std::vector<PersistResult>* results) noexcept = 0;

  // The final state of a persisted request; not_found if it was never persisted.
  virtual Status find_request(const std::string& request_id, RequestState* out) noexcept = 0;

  virtual Status create_product(const NewProduct& product, Product* created) noexcept = 0;
  virtual Status find_product(ProductId id, Product* out) noexcept = 0;  // not_found
  // not_found for a product never created.
  virtual Status sales(ProductId id, ProductSales* out) noexcept = 0;

  // The order as it stands; not_found if there is no such order.
  virtual Status find_order(OrderId id, Order* out) noexcept = 0;

  // Pays an awaiting order, in one conditional write. ok: *out is the paid
  // order, also when this payment_id paid it before (a replay changes
  // nothing). Otherwise nothing changes and, unless not_found, *out is the
  // order as it stands:
  //   amount_mismatch  amount is not the order's amount (checked first)
  //   already_paid     another payment_id paid it
  //   order_cancelled  it is cancelled (out->cancel_reason says why)
  // A payment at or after the deadline (by the store's clock) loses to the
  // expiry: the call cancels the awaiting order itself, exactly as
  // expire_due would, and answers order_cancelled.
  virtual Status pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) noexcept = 0;

  // The buyer cancels an awaiting order (reason user_cancelled), recording
  // its stock return in the same write. ok: *out is the cancelled order, also
  // when it was cancelled before, for either reason. already_paid (with *out)
  // when it is paid; not_found when there is no such order or user_id is not
  // its buyer (another user learns nothing).
  virtual Status cancel(OrderId id, UserId user_id, Order* out) noexcept = 0;

  // Cancels awaiting orders whose deadline_ms <= now, soonest deadline first,
  // at most `limit` of them (reason payment_timeout, each with its stock
  // return recorded in the same transaction), and appends them to *cancelled.
  // Fewer than `limit` means none was left due. Safe to run in many processes
  // at once: an order is cancelled by one of them only.
  virtual Status expire_due(UnixMillis now, std::size_t limit, std::vector<Order>* cancelled) noexcept = 0;

  // Up to `limit` stock returns not yet complete, past `after`: the
  // cancelled orders' with order_id > after.after_order in order_id order,
  // then, while fewer than `limit`, the top-ups' with top_up_id >
  // after.after_top_up in top_up_id order. A default cursor starts at the
  // oldest.
  virtual Status pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                                       std::vector<StockReturn>* out) noexcept = 0;

  // Marks these orders' stock returns complete (the admit stage has the
  // quantity back). Ids that are not pending are skipped.
  virtual Status complete_stock_returns(const std::vector<OrderId>& order_ids) noexcept = 0;

  // An operator adds `quantity` (> 0) to a product's stock. In one write the
  // product's quantity_added and quantity_top_ups_pending grow by it and a
  // stock return with a fresh top_up_id (unique in the store, never reused)
  // is recorded pending; *top_up is that return. The host then hands it to
  // the admit stage and completes it like a cancelled order's, so a crash in
  // between neither loses nor doubles it. not_found for an unknown product,
  // invalid_argument for quantity <= 0.
  virtual Status record_top_up(ProductId product_id, std::int32_t quantity, StockReturn* top_up) noexcept = 0;

  // Marks these top-ups complete (the admit stage has the quantity). Ids that
  // are not pending are skipped.
  virtual Status complete_top_ups(const std::vector<TopUpId>& top_up_ids) noexcept = 0;
};

}  // namespace flashsale
