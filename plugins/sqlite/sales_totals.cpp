#include "sales_totals.h"

#include "sqlite_statement.h"

namespace flashsale::sqlite {

const char* const kAddSales =
    "INSERT INTO product_sales (product_id, orders, failed_requests, orders_awaiting_payment,"
    " quantity_awaiting_payment, orders_paid, quantity_paid, orders_cancelled, quantity_cancelled,"
    " quantity_returns_pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (product_id) DO UPDATE SET orders = orders + excluded.orders,"
    " failed_requests = failed_requests + excluded.failed_requests,"
    " orders_awaiting_payment = orders_awaiting_payment + excluded.orders_awaiting_payment,"
    " quantity_awaiting_payment = quantity_awaiting_payment + excluded.quantity_awaiting_payment,"
    " orders_paid = orders_paid + excluded.orders_paid,"
    " quantity_paid = quantity_paid + excluded.quantity_paid,"
    " orders_cancelled = orders_cancelled + excluded.orders_cancelled,"
    " quantity_cancelled = quantity_cancelled + excluded.quantity_cancelled,"
    " quantity_returns_pending = quantity_returns_pending + excluded.quantity_returns_pending";

// One row always (NULL totals read as 0), and one statement, so one snapshot.
const char* const kSelectSales =
    "SELECT s.orders, s.failed_requests, s.orders_awaiting_payment, s.quantity_awaiting_payment, s.orders_paid,"
    " s.quantity_paid, s.orders_cancelled, s.quantity_cancelled, s.quantity_returns_pending, t.added, t.pending"
    " FROM (SELECT coalesce(sum(quantity), 0) AS added,"
    " coalesce(sum(CASE WHEN pending = 1 THEN quantity END), 0) AS pending"
    " FROM stock_top_ups WHERE product_id = ?1) t LEFT JOIN product_sales s ON s.product_id = ?1";

ProductSales read_sales(const StatementRun& row) {
  ProductSales sales;
  sales.orders = row.int64_column(0);
  sales.failed_requests = row.int64_column(1);
  sales.orders_awaiting_payment = row.int64_column(2);
  sales.quantity_awaiting_payment = row.int64_column(3);
  sales.orders_paid = row.int64_column(4);
  sales.quantity_paid = row.int64_column(5);
  sales.orders_cancelled = row.int64_column(6);
  sales.quantity_cancelled = row.int64_column(7);
  sales.quantity_returns_pending = row.int64_column(8);
  sales.quantity_added = row.int64_column(9);
  sales.quantity_top_ups_pending = row.int64_column(10);
  return sales;
}

void SalesChanges::order_created(ProductId product, std::int64_t quantity) {
  of(product).count_order_created(quantity);
}

void SalesChanges::request_failed(ProductId product) {
  of(product).count_request_failed();
}

void SalesChanges::order_paid(const Order& order) {
  of(order.product_id).count_order_paid(order.quantity);
}

void SalesChanges::order_cancelled(const Order& order) {
  of(order.product_id).count_order_cancelled(order.quantity);
}

void SalesChanges::return_completed(ProductId product, std::int64_t quantity) {
  of(product).count_return_completed(quantity);
}

void SalesChanges::add_to(PreparedStatement& add_sales) const {
  for (const auto& [product, sales] : changes_) {
    StatementRun add = add_sales.run();
    add.bind(1, product);
    add.bind(2, sales.orders);
    add.bind(3, sales.failed_requests);
    add.bind(4, sales.orders_awaiting_payment);
    add.bind(5, sales.quantity_awaiting_payment);
    add.bind(6, sales.orders_paid);
    add.bind(7, sales.quantity_paid);
    add.bind(8, sales.orders_cancelled);
    add.bind(9, sales.quantity_cancelled);
    add.bind(10, sales.quantity_returns_pending);
    add.next_row();
  }
}

ProductSales& SalesChanges::of(ProductId product) {
  for (auto& [id, sales] : changes_) {
    if (id == product) return sales;
  }
  return changes_.emplace_back(product, ProductSales{}).second;
}

}  // namespace flashsale::sqlite
