// The domain values every stage speaks in. Money is integer minor units;
// times are milliseconds since the Unix epoch, UTC (RFC 3339 on the wire).
#pragma once

#include <cstdint>
#include <string>

namespace flashsale {

using ProductId = std::int64_t;
using UserId = std::int64_t;
using OrderId = std::int64_t;
using UnixMillis = std::int64_t;
using TopUpId = std::int64_t;

struct NewProduct {
  std::string name;
  std::int64_t stock = 0;       // initial stock, never changed afterwards (top-ups: ProductSales)
  std::int64_t sale_price = 0;  // minor units
  UnixMillis start_ms = 0;      // sale window [start_ms, end_ms)
  UnixMillis end_ms = 0;
  // How many stock shards the admit stage may spread the stock over, so a hot
  // product is not bound to one Redis Cluster shard; 1 to kMaxStockShards.
  std::int32_t stock_shards = 1;
};

inline constexpr std::int32_t kMaxStockShards = 64;

struct Product : NewProduct {
  ProductId id = 0;
};

// What the admit stage needs to sell a product; set by preload.
struct SaleStock {
  ProductId product_id = 0;
  std::int64_t sellable = 0;  // initial stock minus quantity already persisted
  UnixMillis start_ms = 0;
  UnixMillis end_ms = 0;
  std::int64_t ttl_seconds = 0;  // how long the admit stage keeps it; 0 = no expiry
  std::int32_t shards = 1;       // the product's stock_shards (Admission::load_stock)
};

// One accepted purchase. Admit appends it to the outbox, the relay carries it,
// persist writes it. request_id is the idempotency key of the whole path.
struct OrderEvent {
  std::string request_id;
  UserId user_id = 0;
  ProductId product_id = 0;
  std::int32_t quantity = 0;
  std::int64_t unit_price = 0;  // minor units, copied from the product at admission
  UnixMillis accepted_ms = 0;
};

enum class RequestStatus : std::uint8_t { pending, success, failed };

const char* status_name(RequestStatus status) noexcept;

struct RequestState {
  std::string request_id;
  RequestStatus status = RequestStatus::pending;
  std::string reason;    // set when failed
  OrderId order_id = 0;  // set when success
};

// An order's lifecycle: awaiting_payment -> paid, awaiting_payment ->
// cancelled. paid and cancelled are final.
enum class OrderStatus : std::uint8_t { awaiting_payment, paid, cancelled };

const char* order_status_name(OrderStatus status) noexcept;  // "awaiting_payment", ...

// Why an order was cancelled: by its buyer, or because its deadline passed.
inline constexpr const char* kUserCancelled = "user_cancelled";
inline constexpr const char* kPaymentTimeout = "payment_timeout";

struct Order {
  OrderId id = 0;
  std::string request_id;  // the request that became this order
  UserId user_id = 0;
  ProductId product_id = 0;
  std::int32_t quantity = 0;
  std::int64_t amount = 0;  // minor units: quantity * unit price; what a payment must match
  OrderStatus status = OrderStatus::awaiting_payment;
  std::string cancel_reason;  // kUserCancelled or kPaymentTimeout, when cancelled
  std::string payment_id;     // the payment that paid it, when paid
  UnixMillis created_ms = 0;
  UnixMillis deadline_ms = 0;   // a payment must arrive before this
  UnixMillis paid_ms = 0;       // 0 unless paid
  UnixMillis cancelled_ms = 0;  // 0 unless cancelled
  // Cancelled, and its quantity not yet confirmed back in the admit stage.
  bool stock_return_pending = false;
};

// Stock on its way to the admit stage: a cancelled order's quantity (and the
// user lock it held there), or an operator's top-up of a live sale. Either is
// recorded in the persist stage first, handed to the admit stage at most once
// per id, then marked complete (OrderStore, Admission::return_stock).
struct StockReturn {
  OrderId order_id = 0;    // the cancelled order; 0 for a top-up
  std::string request_id;  // the order's request (its user lock); empty for a top-up
  UserId user_id = 0;      // the order's buyer; 0 for a top-up
  ProductId product_id = 0;
  std::int32_t quantity = 0;
  TopUpId top_up_id = 0;  // the top-up; 0 for a cancelled order

  bool is_top_up() const { return top_up_id != 0; }
};

// Where a walk over the pending stock returns goes on (OrderStore::
// pending_stock_returns): past these ids, so returns the admit stage cannot
// take yet (no stock loaded) do not hold up the others.
struct StockReturnCursor {
  OrderId after_order = 0;   // cancelled orders with a larger id come next
  TopUpId after_top_up = 0;  // then top-ups with a larger id
};

}  // namespace flashsale
