#include "order_sql.h"

#include <string>

#include "pg_schema.h"
#include "sales_totals.h"

namespace flashsale::postgres::order_sql {

namespace {

// The columns read_order reads, of orders as `o`; `return_pending` says
// whether its stock return is pending.
std::string columns(const std::string& return_pending) {
  return "o.id, o.request_id, o.user_id, o.product_id, o.quantity, o.amount, o.status, o.cancel_reason,"
         " o.payment_id, o.created_ms, o.deadline_ms, o.paid_ms, o.cancelled_ms, " +
         return_pending;
}

const std::string kReturnPending = "EXISTS (SELECT 1 FROM stock_returns s WHERE s.order_id = o.id)";

std::string awaiting(const std::string& table) {
  return table + "status = " + std::to_string(kStoredAwaitingPayment);
}

}  // namespace

const Statement& select_order() {
  static const Statement statement{"fs_select_order",
                                   "SELECT " + columns(kReturnPending) + " FROM orders o WHERE o.id = $1"};
  return statement;
}

const Statement& select_order_for_update() {
  static const Statement statement{"fs_select_order_for_update", "SELECT " + columns(kReturnPending) +
                                                                     " FROM orders o WHERE o.id = $1 FOR UPDATE OF o"};
  return statement;
}

Order read_order(const Result& result, int row) {
  Order order;
  order.id = result.int64(row, 0);
  order.request_id = result.text(row, 1);
  order.user_id = result.int64(row, 2);
  order.product_id = result.int64(row, 3);
  order.quantity = static_cast<std::int32_t>(result.int64(row, 4));
  order.amount = result.int64(row, 5);
  order.status = order_status_from_stored(result.int64(row, 6));
  order.cancel_reason = result.text(row, 7);  // NULL (not cancelled) reads as ""
  order.payment_id = result.text(row, 8);
  order.created_ms = result.int64(row, 9);
  order.deadline_ms = result.int64(row, 10);
  order.paid_ms = result.int64(row, 11);  // NULL reads as 0
  order.cancelled_ms = result.int64(row, 12);
  order.stock_return_pending = result.boolean(row, 13);
  return order;
}

const Statement& mark_paid() {
  static const Statement statement{
      "fs_mark_paid", "WITH moved AS (UPDATE orders SET status = " + std::to_string(kStoredPaid) +
                          ", payment_id = $2, paid_ms = $3 WHERE id = $1 AND " + awaiting("") +
                          " RETURNING product_id, quantity) " +
                          add_sales_from("SELECT product_id, 0, 0, -1, -quantity, 1, quantity, 0, 0, 0 FROM moved")};
  return statement;
}

const Statement& mark_cancelled() {
  static const Statement statement{
      "fs_mark_cancelled",
      "WITH moved AS (UPDATE orders SET status = " + std::to_string(kStoredCancelled) +
          ", cancel_reason = $2, cancelled_ms = $3 WHERE id = $1 AND " + awaiting("") +
          " RETURNING id, product_id, quantity),"
          " returned AS (INSERT INTO stock_returns (order_id) SELECT id FROM moved) " +
          add_sales_from("SELECT product_id, 0, 0, -1, -quantity, 0, 0, 1, quantity, quantity FROM moved")};
  return statement;
}

const Statement& any_due() {
  static const Statement statement{"fs_any_due",
                                   "SELECT 1 FROM orders WHERE " + awaiting("") + " AND deadline_ms <= $1 LIMIT 1"};
  return statement;
}

const Statement& expire_due() {
  static const Statement statement{
      "fs_expire_due",
      "WITH due AS (SELECT id FROM orders WHERE " + awaiting("") +
          " AND deadline_ms <= $1 ORDER BY deadline_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED),"
          " moved AS (UPDATE orders o SET status = " +
          std::to_string(kStoredCancelled) +
          ", cancel_reason = $3, cancelled_ms = $1 FROM due WHERE o.id = due.id AND " + awaiting("o.") +
          " RETURNING o.*),"
          " returned AS (INSERT INTO stock_returns (order_id) SELECT id FROM moved ORDER BY deadline_ms, id),"
          " totals AS (" +
          add_sales_from("SELECT product_id, 0, 0, -count(*), -sum(quantity), 0, 0, count(*), sum(quantity),"
                         " sum(quantity) FROM moved GROUP BY product_id ORDER BY product_id") +
          ")"
          " SELECT " +
          columns("true") + " FROM moved o ORDER BY o.deadline_ms, o.id"};
  return statement;
}

const Statement& select_returns() {
  static const Statement statement{"fs_select_returns",
                                   "SELECT o.id, o.request_id, o.user_id, o.product_id, o.quantity"
                                   " FROM stock_returns s JOIN orders o ON o.id = s.order_id"
                                   " WHERE s.order_id > $2 ORDER BY s.order_id LIMIT $1"};
  return statement;
}

const Statement& complete_returns() {
  static const Statement statement{
      "fs_complete_returns",
      "WITH done AS (DELETE FROM stock_returns s USING orders o WHERE s.order_id = ANY($1::int8[])"
      " AND o.id = s.order_id RETURNING o.product_id, o.quantity) " +
          add_sales_from("SELECT product_id, 0, 0, 0, 0, 0, 0, 0, 0, -sum(quantity) FROM done GROUP BY product_id"
                         " ORDER BY product_id")};
  return statement;
}

const Statement& record_top_up() {
  static const Statement statement{"fs_record_top_up",
                                   "INSERT INTO stock_top_ups (product_id, quantity, created_ms)"
                                   " SELECT id, $2, $3 FROM products WHERE id = $1 RETURNING id"};
  return statement;
}

const Statement& select_top_ups() {
  static const Statement statement{
      "fs_select_top_ups",
      "SELECT id, product_id, quantity FROM stock_top_ups WHERE pending AND id > $2 ORDER BY id LIMIT $1"};
  return statement;
}

const Statement& complete_top_ups() {
  static const Statement statement{"fs_complete_top_ups",
                                   "UPDATE stock_top_ups SET pending = false WHERE id = ANY($1::int8[]) AND pending"};
  return statement;
}

const Statement& select_sales_and_top_ups() {
  static const Statement statement{
      "fs_select_sales_and_top_ups",
      "SELECT s.*, t.added, t.pending FROM (SELECT coalesce(sum(quantity), 0) AS added,"
      " coalesce(sum(quantity) FILTER (WHERE pending), 0) AS pending FROM stock_top_ups WHERE product_id = $1) t"
      " LEFT JOIN (" +
          select_sales().sql + ") s ON true"};
  return statement;
}

}  // namespace flashsale::postgres::order_sql
