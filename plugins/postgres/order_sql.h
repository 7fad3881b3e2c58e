// The statements that read and move orders through their lifecycle
// (postgres_order_lifecycle.cpp). Each move is one conditional UPDATE ...
// WHERE id = $1 AND status = 0 (awaiting payment); the writes that go with it
// (the stock return, the product_sales totals) are fed by the row that
// UPDATE returns, in the same statement, so a move that finds the order no
// longer awaiting writes nothing at all.
#pragma once

#include "flashsale/types.h"
#include "pg_connection.h"

namespace flashsale::postgres::order_sql {

// Order $1 with the columns read_order reads; the second locks it (FOR
// UPDATE) until the transaction ends.
const Statement& select_order();
const Statement& select_order_for_update();
// The current row of a statement above, of expire_due, or of none else.
Order read_order(const Result& result, int row);

const Statement& mark_paid();       // order $1, if awaiting: paid by payment $2 at $3; one row changed if so
const Statement& mark_cancelled();  // order $1, if awaiting: cancelled for reason $2 at $3, its return pending

// A row when an awaiting order has deadline_ms <= $1 (read through the
// partial index on deadline_ms).
const Statement& any_due();
// Cancels, for reason $3 at $1, up to $2 awaiting orders with deadline_ms <=
// $1, soonest first, skipping the ones another transaction holds (a payment
// deciding, another expirer); their rows, as read_order reads them.
const Statement& expire_due();

// Up to $1 pending stock returns, oldest first: order id, request id,
// user_id, product_id, quantity.
const Statement& select_returns();
// The returns of the order ids in $1 are complete (those still pending).
const Statement& complete_returns();

// Records a pending top-up of $2 for product $1 at $3; its id, or no row
// when there is no such product.
const Statement& record_top_up();
// Up to $1 pending top-ups, oldest first: id, product_id, quantity.
const Statement& select_top_ups();
// The top-ups of the ids in $1 are complete (those still pending).
const Statement& complete_top_ups();
// Product $1's totals as select_sales reads them (NULL when it has none),
// then its quantity added and the part of it still pending: one statement,
// so one snapshot.
const Statement& select_sales_and_top_ups();

}  // namespace flashsale::postgres::order_sql
