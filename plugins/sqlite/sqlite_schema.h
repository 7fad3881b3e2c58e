// The database file this family keeps: how a connection to it is opened and
// tuned, and the tables and indexes it must hold. Both steps are idempotent, so
// every start and every new store runs them on whatever file db.path names.
// The layout is versioned (PRAGMA user_version). Older layouts from version 2
// on are upgraded in place when opened; any other layout is refused, never
// misread.
#pragma once

#include <cstdint>
#include <string>

#include <Poco/Data/Session.h>

#include "flashsale/types.h"

namespace flashsale::sqlite {

// Opens (creating if missing) the SQLite file at path as a Poco session in WAL
// mode. Throws a Poco::Exception when the file cannot be opened or is not a
// database, or when WAL is not possible there (":memory:", say).
Poco::Data::Session open_connection(const std::string& path);

// Creates the tables of a new (empty) file and marks it with the schema
// version; upgrades a file of version 2 to 5 in one transaction; checks the
// version of a current file. Throws a Poco::Exception, with one line that says
// what to do, for a file of another layout: an older one (no version), a newer
// one, or not ours at all.
void open_schema(Poco::Data::Session& session);

// orders.status: an order's OrderStatus as a small integer. Statements that
// want the partial index over awaiting orders (kAwaitingDeadlineIndex) spell
// the condition exactly as kAwaitingCondition does: SQLite matches it as
// written, and a bound parameter would not match at all.
inline constexpr std::int64_t kStoredAwaitingPayment = 0;
inline constexpr std::int64_t kStoredPaid = 1;
inline constexpr std::int64_t kStoredCancelled = 2;
inline constexpr const char* kAwaitingCondition = "status = 0";

// The OrderStatus of an orders.status value; throws a Poco::Exception for a
// value no build writes.
OrderStatus order_status_from_stored(std::int64_t stored);

// Every order that was in a file when it was upgraded to the lifecycle becomes
// awaiting_payment with this long to pay, from the upgrade.
inline constexpr std::int64_t kUpgradedOrderPaymentWindowMs = 900 * 1000;

// The expiry's index: awaiting orders by deadline (the name is checked by a
// test that reads the query plan).
inline constexpr const char* kAwaitingDeadlineIndex = "orders_awaiting_deadline";

}  // namespace flashsale::sqlite
