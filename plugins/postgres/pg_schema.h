// The tables the family keeps, owned by the plugin: a list of versioned
// migrations, applied in order when a store opens, and recorded in
// schema_version (one row per version applied). The check and the migrations
// run in one transaction holding a transaction-level advisory lock, so
// processes starting at once against one database apply each migration once:
// the others wait for the lock and then find the versions recorded.
//
// The tables match the sqlite family's (plugins/sqlite/README.md):
// products; orders, with its unique request_id, one active order per user and
// product (a partial unique index on status IN (0, 1)) and the expiry's
// partial index on deadline_ms WHERE status = 0; failed_requests;
// stock_returns; product_sales; and the order_requests view for people.
// Beside them, one function: the persist fast path's check for failed
// requests.
#pragma once

#include <cstdint>

#include "flashsale/types.h"

namespace flashsale::postgres {

class Connection;

// orders.status as stored.
inline constexpr std::int64_t kStoredAwaitingPayment = 0;
inline constexpr std::int64_t kStoredPaid = 1;
inline constexpr std::int64_t kStoredCancelled = 2;

// The SQLSTATE flashsale_refuse_failed_requests(text[]) raises: a request
// of the array is recorded as failed (persist_batch.h).
inline constexpr const char* kFailedRequestFound = "FS001";

// Throws PgError (internal) for a value no status is stored as.
OrderStatus order_status_from_stored(std::int64_t stored);

// The newest version this build knows.
int latest_schema_version();

// Applies the migrations the database lacks. Throws PgError: internal, with
// one line, when the database has a version newer than this build knows.
void migrate(Connection& connection);

}  // namespace flashsale::postgres
