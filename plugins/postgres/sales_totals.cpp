#include "sales_totals.h"

#include <algorithm>

namespace flashsale::postgres {

namespace {

constexpr const char* kColumns[] = {
    "orders",        "failed_requests",  "orders_awaiting_payment", "quantity_awaiting_payment", "orders_paid",
    "quantity_paid", "orders_cancelled", "quantity_cancelled",      "quantity_returns_pending"};

std::string column_list() {
  std::string list;
  for (const char* column : kColumns) list += std::string(list.empty() ? "" : ", ") + column;
  return list;
}

}  // namespace

std::string add_sales_from(const std::string& select) {
  std::string sql = "INSERT INTO product_sales AS s (product_id, " + column_list() + ") " + select +
                    " ON CONFLICT (product_id) DO UPDATE SET ";
  bool first = true;
  for (const char* column : kColumns) {
    sql += std::string(first ? "" : ", ") + column + " = s." + column + " + excluded." + column;
    first = false;
  }
  return sql;
}

const Statement& select_sales() {
  static const Statement statement{"fs_select_sales",
                                   "SELECT " + column_list() + " FROM product_sales WHERE product_id = $1"};
  return statement;
}

ProductSales read_sales(const Result& result, int row) {
  ProductSales sales;
  sales.orders = result.int64(row, 0);
  sales.failed_requests = result.int64(row, 1);
  sales.orders_awaiting_payment = result.int64(row, 2);
  sales.quantity_awaiting_payment = result.int64(row, 3);
  sales.orders_paid = result.int64(row, 4);
  sales.quantity_paid = result.int64(row, 5);
  sales.orders_cancelled = result.int64(row, 6);
  sales.quantity_cancelled = result.int64(row, 7);
  sales.quantity_returns_pending = result.int64(row, 8);
  return sales;
}

void SalesChanges::order_created(ProductId product, std::int64_t quantity) {
  of(product).count_order_created(quantity);
}

void SalesChanges::request_failed(ProductId product) {
  of(product).count_request_failed();
}

void SalesChanges::append_to(std::vector<Query>* queries) const {
  if (changes_.empty()) return;
  static const Statement add{
      "fs_add_sales",
      add_sales_from("SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],"
                     " $7::int8[], $8::int8[], $9::int8[], $10::int8[]) ORDER BY 1")};
  std::vector<std::pair<ProductId, ProductSales>> sorted = changes_;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::vector<std::int64_t>> columns(10);
  for (const auto& [product, sales] : sorted) {
    std::int64_t row[] = {product,
                          sales.orders,
                          sales.failed_requests,
                          sales.orders_awaiting_payment,
                          sales.quantity_awaiting_payment,
                          sales.orders_paid,
                          sales.quantity_paid,
                          sales.orders_cancelled,
                          sales.quantity_cancelled,
                          sales.quantity_returns_pending};
    for (std::size_t i = 0; i < columns.size(); ++i) columns[i].push_back(row[i]);
  }
  Query query{&add, {}};
  for (const auto& column : columns) query.params.push_back(int_array(column));
  queries->push_back(std::move(query));
}

ProductSales& SalesChanges::of(ProductId product) {
  for (auto& [id, sales] : changes_) {
    if (id == product) return sales;
  }
  return changes_.emplace_back(product, ProductSales{}).second;
}

}  // namespace flashsale::postgres
