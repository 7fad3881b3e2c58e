// The SQL of the statements that read and move orders through their
// lifecycle (sqlite_order_lifecycle.cpp), compiled once by the store when it
// opens. Conditions on awaiting orders repeat kAwaitingCondition word for
// word, so SQLite can use the partial index kAwaitingDeadlineIndex. Only text
// here, built from headers alone, so tests can read the plans of exactly
// these statements.
#pragma once

#include <string>

namespace flashsale::sqlite::order_sql {

// The order ?1: id, request id as text, user_id, product_id, quantity,
// amount, status, cancel_reason, payment_id, created_ms, deadline_ms,
// paid_ms, cancelled_ms, and 1 when its stock return is pending, else 0.
std::string select_order();
// The same columns for awaiting orders with deadline_ms <= ?1, soonest
// deadline first, at most ?2 of them.
std::string select_due();
std::string any_due();         // a row when an awaiting order has deadline_ms <= ?1
std::string mark_paid();       // order ?1, if awaiting: paid by payment ?2 at ?3
std::string mark_cancelled();  // order ?1, if awaiting: cancelled for reason ?2 at ?3
// Up to ?1 pending stock returns, oldest first: order id, request id as
// text, user_id, product_id, quantity.
std::string select_returns();

extern const char* const kRecordReturn;  // the stock return of order ?1 is pending
extern const char* const kSelectReturn;  // product_id, quantity of order ?1, if its return is pending
extern const char* const kDeleteReturn;  // the return of order ?1 is complete

// A pending top-up of ?2 for product ?1 at ?3; changes no row when there is
// no such product.
extern const char* const kRecordTopUp;
extern const char* const kSelectTopUps;   // up to ?1 pending top-ups, oldest first: id, product_id, quantity
extern const char* const kCompleteTopUp;  // top-up ?1, if pending, is complete

}  // namespace flashsale::sqlite::order_sql
