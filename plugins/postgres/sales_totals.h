// product_sales, the per-product totals sales() answers, kept exact by adding
// every change to them inside the transaction that makes it: one upsert per
// transaction, one row per product in product_id order (so two transactions
// touching the same products lock their rows in the same order).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "flashsale/order_store.h"
#include "pg_connection.h"

namespace flashsale::postgres {

// INSERT INTO product_sales ... <select> ON CONFLICT (product_id) DO UPDATE
// adding each column: `select` yields product_id and then, in order, the
// changes of orders, failed_requests, orders_awaiting_payment,
// quantity_awaiting_payment, orders_paid, quantity_paid, orders_cancelled,
// quantity_cancelled, quantity_returns_pending.
std::string add_sales_from(const std::string& select);

// The totals of product $1, as read_sales reads them.
const Statement& select_sales();
ProductSales read_sales(const Result& result, int row);

// What a persist transaction changes, gathered as it goes. (The lifecycle's
// moves compute theirs in SQL, from the row the conditional UPDATE moved.)
class SalesChanges {
 public:
  void order_created(ProductId product, std::int64_t quantity);
  void request_failed(ProductId product);

  // Appends the upsert of every product changed (nothing when none was).
  void append_to(std::vector<Query>* queries) const;

 private:
  ProductSales& of(ProductId product);

  // A transaction nearly always touches one product: a short list beats a map.
  std::vector<std::pair<ProductId, ProductSales>> changes_;
};

}  // namespace flashsale::postgres
