#include "order_sql.h"

#include "request_key.h"
#include "sqlite_schema.h"

namespace flashsale::sqlite::order_sql {

namespace {

std::string select_orders(const std::string& rest) {
  // NULL (payment_id, paid_ms, ... not set) reads back as "" or 0, as Order
  // wants them.
  return "SELECT id, " + request_id_as_text("request_id") +
         ", user_id, product_id, quantity, amount, status, cancel_reason, payment_id, created_ms, deadline_ms,"
         " paid_ms, cancelled_ms, EXISTS (SELECT 1 FROM stock_returns WHERE stock_returns.order_id = orders.id)"
         " FROM orders " +
         rest;
}

std::string awaiting() {
  return kAwaitingCondition;
}

}  // namespace

std::string select_order() {
  return select_orders("WHERE id = ?1");
}

std::string select_due() {
  return select_orders("WHERE " + awaiting() + " AND deadline_ms <= ?1 ORDER BY deadline_ms LIMIT ?2");
}

std::string any_due() {
  return "SELECT 1 FROM orders WHERE " + awaiting() + " AND deadline_ms <= ?1 LIMIT 1";
}

std::string mark_paid() {
  return "UPDATE orders SET status = " + std::to_string(kStoredPaid) +
         ", payment_id = ?2, paid_ms = ?3 WHERE id = ?1 AND " + awaiting();
}

std::string mark_cancelled() {
  return "UPDATE orders SET status = " + std::to_string(kStoredCancelled) +
         ", cancel_reason = ?2, cancelled_ms = ?3 WHERE id = ?1 AND " + awaiting();
}

std::string select_returns() {
  return "SELECT orders.id, " + request_id_as_text("orders.request_id") +
         ", orders.user_id, orders.product_id, orders.quantity"
         " FROM stock_returns JOIN orders ON orders.id = stock_returns.order_id"
         " WHERE stock_returns.order_id > ?2 ORDER BY stock_returns.order_id LIMIT ?1";
}

const char* const kRecordReturn = "INSERT INTO stock_returns (order_id) VALUES (?1)";

const char* const kSelectReturn =
    "SELECT orders.product_id, orders.quantity FROM stock_returns JOIN orders ON orders.id = stock_returns.order_id"
    " WHERE stock_returns.order_id = ?1";

const char* const kDeleteReturn = "DELETE FROM stock_returns WHERE order_id = ?1";

const char* const kRecordTopUp =
    "INSERT INTO stock_top_ups (product_id, quantity, created_ms) SELECT id, ?2, ?3 FROM products WHERE id = ?1";

const char* const kSelectTopUps =
    "SELECT id, product_id, quantity FROM stock_top_ups WHERE pending = 1 AND id > ?2 ORDER BY id LIMIT ?1";

const char* const kCompleteTopUp = "UPDATE stock_top_ups SET pending = 0 WHERE id = ?1 AND pending = 1";

}  // namespace flashsale::sqlite::order_sql
