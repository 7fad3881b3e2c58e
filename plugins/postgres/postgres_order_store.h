// The persist stage on PostgreSQL: the system of record for products, orders
// with their lifecycle, and the outcome of every persisted request, shared by
// every process that points postgres.dsn at the same database (several
// consumers, several expirers).
//
// Isolation: every transaction runs at READ COMMITTED, PostgreSQL's default,
// and that is enough, because no decision rests on what a snapshot shows:
//   - a request becomes an order or a failure through a unique key
//     (orders.request_id, failed_requests.request_id): of two processes
//     persisting the same request one inserts, the other waits for its
//     commit and reads its outcome (persist_batch.h);
//   - one active order per user and product is the partial unique index
//     orders_active_user_product, decided the same way; a failure is recorded
//     only while the order that caused it is locked against a cancel;
//   - pay and cancel read the order with SELECT ... FOR UPDATE and move it
//     with one conditional UPDATE ... WHERE status = awaiting; the expiry
//     takes due orders FOR UPDATE SKIP LOCKED and moves them the same way; a
//     completed stock return is a DELETE of its row: each has one winner.
// A deadlock or serialization failure (40P01, 40001) aborts a transaction as
// a whole and it runs again (store_call.h).
//
// Times (created_ms, deadlines, a payment's lateness) come from this
// process's clock, as in the other families.
#pragma once

#include <mutex>
#include <unordered_set>

#include "connection_pool.h"
#include "flashsale/order_store.h"

namespace flashsale::postgres {

struct StoreOptions {
  ConnectOptions connect;
  std::size_t pool_size = 4;
};

class PostgresOrderStore final : public OrderStore {
 public:
  // Connects and brings the schema up to date (pg_schema.h). Throws PgError
  // when it cannot.
  explicit PostgresOrderStore(const StoreOptions& options);

  Status persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                 std::vector<PersistResult>* results) noexcept override;
  Status find_request(const std::string& request_id, RequestState* out) noexcept override;
  Status create_product(const NewProduct& product, Product* created) noexcept override;
  Status find_product(ProductId id, Product* out) noexcept override;
  Status sales(ProductId id, ProductSales* out) noexcept override;

  // The lifecycle, in postgres_order_lifecycle.cpp.
  Status find_order(OrderId id, Order* out) noexcept override;
  Status pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) noexcept override;
  Status cancel(OrderId id, UserId user_id, Order* out) noexcept override;
  Status expire_due(UnixMillis now, std::size_t limit, std::vector<Order>* cancelled) noexcept override;
  Status pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                               std::vector<StockReturn>* out) noexcept override;
  Status complete_stock_returns(const std::vector<OrderId>& order_ids) noexcept override;
  Status record_top_up(ProductId product_id, std::int32_t quantity, StockReturn* top_up) noexcept override;
  Status complete_top_ups(const std::vector<TopUpId>& top_up_ids) noexcept override;

 private:
  // Per id, whether that product was never created. Products are never
  // deleted, so the ones found are cached and a batch of known products
  // costs no round trip.
  std::vector<bool> unknown_products(Connection& connection, const std::vector<ProductId>& ids);

  ConnectionPool pool_;
  std::mutex known_mutex_;
  std::unordered_set<ProductId> known_products_;
};

}  // namespace flashsale::postgres
