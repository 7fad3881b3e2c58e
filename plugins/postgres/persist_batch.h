// One batch of OrderStore::persist: one transaction, a few multi-row
// statements sent as pipelines, never a round trip per event.
//
// The fast path, for the common batch (every event a new order: no
// redelivery, no request twice, no user already holding the product), is one
// round trip: BEGIN; a plain INSERT ... SELECT FROM unnest(...) of every
// event, answering the new ids as one array; a check that no request of the
// batch is recorded as failed; the product_sales upsert; COMMIT. Any other batch stops that transaction, at
// the insert (a unique key refuses a row) or at the check (an error it
// raises), so nothing of it stays, and takes the careful path from the
// start. The check is a statement of its own after the insert: a failure
// another process commits during the insert, while the insert waits, is in
// its snapshot (the order refusing such a request is held until that commit,
// and only its cancel frees the slot the insert takes: record_failures in
// persist_batch.cpp).
//
// The careful path costs two round trips:
//   1. BEGIN; insert every event as an order in one INSERT ... SELECT FROM
//      unnest(...) ON CONFLICT DO NOTHING (skipping requests recorded as
//      failed); then read the outcome of every request of the batch;
//   2. add the batch's product_sales changes; COMMIT.
// An event that neither became an order nor has an outcome was refused by
// an active order of its user and product; those cost one more round trip,
// which records their failure (see persist_batch.cpp for why it locks that
// order first).
//
// Isolation: READ COMMITTED. No decision rests on a snapshot alone: the
// unique keys decide who inserts a request or holds a user's product (the
// loser waits for the winner's commit and then sees its row), and a failure
// is recorded only while the order that caused it is locked against being
// cancelled. Each statement after a wait takes a new snapshot, so it sees
// what the wait was for.
#pragma once

#include <vector>

#include "flashsale/order_store.h"
#include "pg_connection.h"

namespace flashsale::postgres {

// Persists events in one transaction on connection, created_ms = now and
// deadline_ms = deadline, and returns their results in order. An event whose
// `unknown_product[i]` is true (its product was never created) is recorded
// failed, "unknown_product", and changes no totals. Throws PgError; the
// transaction is then open or aborted, for the caller to roll back.
std::vector<PersistResult> persist_batch(Connection& connection, const std::vector<OrderEvent>& events,
                                         const std::vector<bool>& unknown_product, UnixMillis now, UnixMillis deadline);

// The outcomes recorded for the request ids in the text array $1: rows of
// (request_id, order id or NULL, failure reason or NULL).
const Statement& request_outcomes();

}  // namespace flashsale::postgres
