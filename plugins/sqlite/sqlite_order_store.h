// The persist stage on a SQLite file: the system of record for products,
// orders with their lifecycle, and the outcome of every persisted request.
//
// A successful request is its row in orders, a failed one its row in
// failed_requests; a cancelled order's stock return is a row in stock_returns
// until it completes, an operator's top-up a row in stock_top_ups; per-product totals for sales() are kept beside them
// in the same transaction (sqlite_schema.cpp, sales_totals.h). The common event, a new order, costs a probe of
// failed_requests and one INSERT: the earlier outcome is looked up only when that insert writes nothing.
//
// Every move of an order (pay, cancel, expiry) reads the order and writes its
// new state inside one BEGIN IMMEDIATE transaction, so of two processes on the
// same file racing for an order one waits for the other and then sees its
// write: there is one winner per order (sqlite_order_lifecycle.cpp).
//
// Two connections to the file. The writer persists batches, creates products
// and moves orders, one caller at a time (SQLite has one writer per file
// anyway); its statements are compiled once (sqlite_statement.h). The reader
// serves find_request, find_product, find_order, sales, the pending stock
// returns and expire_due's look for anything due, and WAL lets it read the
// last commit while the writer is inside a transaction. A third, the checkpointer's (checkpointer.h), copies the WAL
// back into the file off the persist path.
#pragma once

#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include <Poco/Data/Session.h>

#include "checkpointer.h"
#include "flashsale/order_store.h"
#include "sqlite_statement.h"

namespace flashsale::sqlite {

class RequestKey;
class SalesChanges;

class SqliteOrderStore final : public OrderStore {
 public:
  // Opens the file at path, creating it and the schema where missing and
  // upgrading an older layout. Throws a Poco::Exception when it cannot, or
  // when the file has another layout. checkpoint_pages: the WAL length at
  // which the checkpointer copies it back.
  explicit SqliteOrderStore(const std::string& path, int checkpoint_pages = kDefaultCheckpointPages);
  static constexpr int kDefaultCheckpointPages = 4000;  // 16 MiB of 4 KiB pages

  Status persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                 std::vector<PersistResult>* results) noexcept override;
  Status find_request(const std::string& request_id, RequestState* out) noexcept override;
  Status create_product(const NewProduct& product, Product* created) noexcept override;
  Status find_product(ProductId id, Product* out) noexcept override;
  Status sales(ProductId id, ProductSales* out) noexcept override;

  // The lifecycle, in sqlite_order_lifecycle.cpp.
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
  // Inside the writer's transaction; counts what it wrote in *changes.
  PersistResult persist_one(const OrderEvent& event, UnixMillis now, UnixMillis deadline, SalesChanges* changes);
  // Records the event's request as failed for `reason` (under writer_mutex_).
  PersistResult record_failed(const RequestKey& key, const OrderEvent& event, const char* reason, UnixMillis now);
  // Whether the product was ever created (under writer_mutex_): products are
  // never deleted, so the ones found are remembered.
  bool known_product(ProductId id);
  // Inside the writer's transaction: reads order id into *out; false if none.
  bool read_for_update(OrderId id, Order* out);
  // Inside the writer's transaction: cancels *order, which is awaiting
  // payment, and records its stock return; updates *order to match.
  void cancel_awaiting(Order* order, const char* reason, UnixMillis now, SalesChanges* changes);

  std::mutex writer_mutex_;
  std::unordered_set<ProductId> known_products_;
  Poco::Data::Session writer_;
  // Declared after writer_: finalized before its connection closes.
  PreparedStatement insert_order_;
  PreparedStatement find_request_order_;
  PreparedStatement find_failure_;
  PreparedStatement record_failure_;
  PreparedStatement product_exists_;
  PreparedStatement add_sales_;
  PreparedStatement select_order_;
  PreparedStatement select_due_;
  PreparedStatement mark_paid_;
  PreparedStatement mark_cancelled_;
  PreparedStatement record_return_;
  PreparedStatement select_return_;
  PreparedStatement delete_return_;
  PreparedStatement record_top_up_;
  PreparedStatement complete_top_up_;

  std::mutex reader_mutex_;
  Poco::Data::Session reader_;
  PreparedStatement read_request_order_;
  PreparedStatement read_failure_;
  PreparedStatement read_sales_;
  PreparedStatement read_product_exists_;
  PreparedStatement read_order_;
  PreparedStatement read_any_due_;
  PreparedStatement read_returns_;
  PreparedStatement read_top_ups_;

  // Last: gone (the writer unhooked, its thread joined) before the rest.
  Checkpointer checkpointer_;
};

}  // namespace flashsale::sqlite
