// product_sales, the per-product totals sales() answers: what a transaction
// changed, gathered as it goes and added to the table before it commits (one
// upsert per product), so the totals move with the rows they count.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "flashsale/order_store.h"

namespace flashsale::sqlite {

class PreparedStatement;
class StatementRun;

// The upsert that adds one product's changes (SalesChanges::add_to).
extern const char* const kAddSales;
// The totals of product ?1 with its top-ups' (stock_top_ups), as read_sales reads them.
extern const char* const kSelectSales;

// The current row of a kSelectSales statement.
ProductSales read_sales(const StatementRun& row);

class SalesChanges {
 public:
  void order_created(ProductId product, std::int64_t quantity);
  void request_failed(ProductId product);
  void order_paid(const Order& order);       // was awaiting_payment
  void order_cancelled(const Order& order);  // was awaiting_payment; its return is pending
  void return_completed(ProductId product, std::int64_t quantity);

  // Runs add_sales (a statement of kAddSales) once per product changed.
  void add_to(PreparedStatement& add_sales) const;

 private:
  ProductSales& of(ProductId product);

  // A transaction nearly always touches one product: a short list beats a map.
  std::vector<std::pair<ProductId, ProductSales>> changes_;
};

}  // namespace flashsale::sqlite
