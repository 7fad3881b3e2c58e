// The persist stage on a SQLite file: the system of record for products,
// orders and the outcome of every persisted request.
//
// A successful request is its row in orders, a failed one its row in
// failed_requests; per-product totals for sales() are kept beside them in the
// same transaction (sqlite_schema.cpp). The common event, a new order, costs
// one INSERT: the earlier outcome is looked up only when that insert conflicts.
//
// Two connections to the file. The writer persists batches and creates
// products, one caller at a time (SQLite has one writer per file anyway); its
// hot statements are compiled once (sqlite_statement.h). The reader serves
// find_request, find_product and sales, and WAL lets it read the last commit
// while the writer is inside a batch. A third, the checkpointer's
// (checkpointer.h), copies the WAL back into the file off the persist path.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Data/Session.h>

#include "checkpointer.h"
#include "flashsale/order_store.h"
#include "sqlite_statement.h"

namespace flashsale::sqlite {

class SqliteOrderStore final : public OrderStore {
 public:
  // Opens the file at path, creating it and the schema where missing. Throws a
  // Poco::Exception when it cannot, or when the file has another layout.
  // checkpoint_pages: the WAL length at which the checkpointer copies it back.
  explicit SqliteOrderStore(const std::string& path, int checkpoint_pages = kDefaultCheckpointPages);
  static constexpr int kDefaultCheckpointPages = 4000;  // 16 MiB of 4 KiB pages

  Status persist(const std::vector<OrderEvent>& events, std::vector<PersistResult>* results) noexcept override;
  Status find_request(const std::string& request_id, RequestState* out) noexcept override;
  Status create_product(const NewProduct& product, Product* created) noexcept override;
  Status find_product(ProductId id, Product* out) noexcept override;
  Status sales(ProductId id, ProductSales* out) noexcept override;

 private:
  // Inside the writer's transaction; adds what it wrote to *added (per product).
  PersistResult persist_one(const OrderEvent& event, UnixMillis now,
                            std::vector<std::pair<ProductId, ProductSales>>* added);

  std::mutex writer_mutex_;
  Poco::Data::Session writer_;
  // Declared after writer_: finalized before its connection closes.
  PreparedStatement insert_order_;
  PreparedStatement find_order_;
  PreparedStatement find_failure_;
  PreparedStatement record_failure_;
  PreparedStatement add_sales_;

  std::mutex reader_mutex_;
  Poco::Data::Session reader_;
  PreparedStatement read_order_;
  PreparedStatement read_failure_;
  PreparedStatement read_sales_;

  // Last: gone (the writer unhooked, its thread joined) before the rest.
  Checkpointer checkpointer_;
};

}  // namespace flashsale::sqlite
