#include "sqlite_schema.h"

#include <sqlite3.h>

#include <vector>

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>

#include "flashsale/clock.h"
#include "request_key.h"
#include "sqlite_statement.h"

namespace flashsale::sqlite {

using namespace Poco::Data::Keywords;

namespace {

// Poco 1.11 reports a file it cannot open only after its whole login timeout
// (60 s), so the file is tried with the C API first, which fails at once.
void check_openable(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw Poco::Data::SQLite::CantOpenDBFileException(message);
}

}  // namespace

Poco::Data::Session open_connection(const std::string& path) {
  check_openable(path);
  // The Connector makes the session directly: no process-wide registration.
  Poco::Data::Session session(Poco::Data::SQLite::Connector().createSession(path));
  // A writer holds the lock for one batch (milliseconds); waiting up to 5 s
  // rides out another process's batch or a checkpoint instead of failing.
  session << "PRAGMA busy_timeout = 5000", now;
  // WAL lets the reader connection run while the writer commits, and makes a
  // commit one append to the log instead of a rewrite of the pages.
  std::string mode;
  session << "PRAGMA journal_mode = WAL", into(mode), now;
  if (mode != "wal") {
    throw Poco::Data::DataException("journal_mode is '" + mode + "', WAL is needed (a file on a local disk)");
  }
  // NORMAL in WAL mode syncs the log at checkpoints, not at each commit. A
  // crash of the process loses nothing and the file is never corrupted; only
  // an OS crash or power cut can take back the last commits. That window is
  // the price of not paying one fsync per batch on the persist path.
  session << "PRAGMA synchronous = NORMAL", now;
  // 32 MiB of page cache: the unique indexes are probed for every event and
  // should stay in memory.
  session << "PRAGMA cache_size = -32768", now;
  // Checkpointing every ~40 MiB of log instead of SQLite's ~4 MiB copies a page
  // rewritten by many batches once (the right edge of each index, the sales
  // row) and syncs the file less often.
  session << "PRAGMA wal_autocheckpoint = 10000", now;
  return session;
}

namespace {

// The layout this build writes, kept in PRAGMA user_version. Files of the
// first layout (orders + order_requests, text ids) have version 0. Version 2
// differs from 3 only in AUTOINCREMENT on orders.id, which no statement
// relies on; both are upgraded to 4 (the order lifecycle) when opened, 4 to 5
// (stock top-ups) and 5 to 6 (products' stock shards).
constexpr int kSchemaVersion = 6;
constexpr int kLifecycleVersion = 4;
constexpr int kTopUpVersion = 5;
constexpr int kOldestUpgradable = 2;

static_assert(kStoredAwaitingPayment == 0, "kAwaitingCondition spells the code out");

std::string code(std::int64_t stored) {
  return std::to_string(stored);
}

// The lifecycle's columns of orders, as a new file declares them and as the
// upgrade adds them: ALTER TABLE ADD COLUMN appends, so both kinds of file end
// up with the same columns in the same order. status is the OrderStatus as a
// small integer: 0 awaiting_payment (a new order), 1 paid, 2 cancelled
// (kStored* in sqlite_schema.h). payment_id and paid_ms are set when paid,
// cancel_reason (the text of kUserCancelled or kPaymentTimeout) and
// cancelled_ms when cancelled, NULL until then. deadline_ms has a default only because ALTER TABLE cannot
// add a NOT NULL column without one: every insert sets it.
std::vector<std::string> lifecycle_columns() {
  return {
      "status INTEGER NOT NULL DEFAULT " + code(kStoredAwaitingPayment),
      "deadline_ms INTEGER NOT NULL DEFAULT 0",
      "payment_id TEXT",
      "paid_ms INTEGER",
      "cancel_reason TEXT",
      "cancelled_ms INTEGER",
  };
}

// A product's stock_shards, declared by a new file's products and added by
// the upgrade from 5 (ALTER TABLE ADD COLUMN appends, so both end up alike);
// the default gives the products of an upgraded file one shard each.
constexpr const char* kStockShardsColumn = "stock_shards INTEGER NOT NULL DEFAULT 1";

// The tables the layouts before the lifecycle had too, as a new file lays
// them out (orders with the lifecycle's columns already in).
std::vector<std::string> base_tables() {
  // One row per successful request, in any state of its lifecycle. request_id
  // (a key as request_key.h makes it) makes a redelivered event harmless.
  // Server ids are time-ordered, so both the table and the request_id index
  // grow at their right edge. The order id is the rowid without
  // AUTOINCREMENT: that keyword costs a read and a write of sqlite_sequence in
  // every insert (a fifth of persist's time), and only makes a difference
  // when the newest orders are deleted, which flashsale never does (a new
  // order then takes the next id after the highest one left).
  std::string orders =
      "CREATE TABLE orders ("
      " id INTEGER PRIMARY KEY,"
      " request_id BLOB NOT NULL UNIQUE,"
      " user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " unit_price INTEGER NOT NULL,"
      " amount INTEGER NOT NULL,"
      " accepted_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL";
  for (const std::string& column : lifecycle_columns()) orders += ", " + column;
  orders += ")";
  return {
      "CREATE TABLE products ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " name TEXT NOT NULL,"
      " stock INTEGER NOT NULL,"
      " sale_price INTEGER NOT NULL,"
      " start_ms INTEGER NOT NULL,"
      " end_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL, " +
          std::string(kStockShardsColumn) + ")",
      orders,
      // One row per failed request, what its redelivery and /result read back.
      // A request found here never becomes an order, even once the order that
      // refused it is cancelled (persist looks here first).
      "CREATE TABLE failed_requests ("
      " request_id BLOB NOT NULL PRIMARY KEY,"
      " user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " reason TEXT NOT NULL,"
      " failed_ms INTEGER NOT NULL) WITHOUT ROWID",
  };
}

// What the lifecycle added, laid out the same way in a new file and in an
// upgraded one.
std::vector<std::string> lifecycle_objects() {
  return {
      // One active order (awaiting_payment or paid) per user per product; a
      // cancelled order leaves the index, so its buyer may order again.
      "CREATE UNIQUE INDEX orders_active_user_product ON orders (user_id, product_id) WHERE status IN (" +
          code(kStoredAwaitingPayment) + ", " + code(kStoredPaid) + ")",
      // What the expiry scans: awaiting orders by deadline. Paid and
      // cancelled orders leave it, so it holds only the orders still open.
      std::string("CREATE INDEX ") + kAwaitingDeadlineIndex + " ON orders (deadline_ms) WHERE " + kAwaitingCondition,
      // One row per cancelled order whose quantity is not yet back in the
      // admit stage, deleted when the return completes. id is the order in
      // which they were recorded: without AUTOINCREMENT a new row takes the
      // highest id + 1, so it still follows every pending one.
      "CREATE TABLE stock_returns ("
      " id INTEGER PRIMARY KEY,"
      " order_id INTEGER NOT NULL UNIQUE)",
      // What sales() answers, kept in the transaction of every change it
      // counts (one row update per product per transaction), so it is exact.
      "CREATE TABLE product_sales ("
      " product_id INTEGER PRIMARY KEY,"
      " orders INTEGER NOT NULL DEFAULT 0,"
      " failed_requests INTEGER NOT NULL DEFAULT 0,"
      " orders_awaiting_payment INTEGER NOT NULL DEFAULT 0,"
      " quantity_awaiting_payment INTEGER NOT NULL DEFAULT 0,"
      " orders_paid INTEGER NOT NULL DEFAULT 0,"
      " quantity_paid INTEGER NOT NULL DEFAULT 0,"
      " orders_cancelled INTEGER NOT NULL DEFAULT 0,"
      " quantity_cancelled INTEGER NOT NULL DEFAULT 0,"
      " quantity_returns_pending INTEGER NOT NULL DEFAULT 0)",
      // Every finished request with its id as text and, for an order, where
      // it stands, for people and tools reading the file; the store itself
      // reads the tables.
      "CREATE VIEW order_requests AS"
      " SELECT " +
          request_id_as_text("request_id") +
          " AS request_id, user_id, product_id, quantity,"
          " 'success' AS status, NULL AS reason, id AS order_id, created_ms AS updated_ms,"
          " CASE status WHEN " +
          code(kStoredAwaitingPayment) + " THEN 'awaiting_payment' WHEN " + code(kStoredPaid) + " THEN 'paid' WHEN " +
          code(kStoredCancelled) +
          " THEN 'cancelled' END AS order_status FROM orders"
          " UNION ALL"
          " SELECT " +
          request_id_as_text("request_id") +
          ", user_id, product_id, quantity, 'failed', reason, NULL,"
          " failed_ms, NULL FROM failed_requests",
  };
}

// What stock top-ups added: one row per operator's top-up, kept after it
// completes (sales() sums them: top-ups are few). pending (1) until the admit
// stage has the quantity; id is the once-only key the admit stage remembers,
// never reused since no row is ever deleted.
std::vector<std::string> top_up_objects() {
  return {
      "CREATE TABLE stock_top_ups ("
      " id INTEGER PRIMARY KEY,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL,"
      " pending INTEGER NOT NULL DEFAULT 1)",
      "CREATE INDEX stock_top_ups_product ON stock_top_ups (product_id)",
      "CREATE INDEX stock_top_ups_pending ON stock_top_ups (id) WHERE pending = 1",
  };
}

void run(Poco::Data::Session& session, const std::vector<std::string>& statements) {
  for (const std::string& statement : statements) session << statement, now;
}

// Versions 2 and 3 to 4, inside open_schema's transaction: the lifecycle's
// columns, indexes and tables, every order awaiting payment for
// kUpgradedOrderPaymentWindowMs from now, and the sales totals carried over.
void upgrade_to_lifecycle(Poco::Data::Session& session) {
  for (const std::string& column : lifecycle_columns()) session << "ALTER TABLE orders ADD COLUMN " + column, now;
  UnixMillis deadline = now_ms() + kUpgradedOrderPaymentWindowMs;
  session << "UPDATE orders SET deadline_ms = ?", bind(deadline), now;
  run(session, {"DROP INDEX IF EXISTS orders_user_product", "DROP VIEW IF EXISTS order_requests",
                "ALTER TABLE product_sales RENAME TO product_sales_v3"});
  run(session, lifecycle_objects());
  run(session, {"INSERT INTO product_sales (product_id, orders, failed_requests, orders_awaiting_payment,"
                " quantity_awaiting_payment)"
                " SELECT product_id, orders, failed_requests, orders, quantity_sold FROM product_sales_v3",
                "DROP TABLE product_sales_v3"});
}

}  // namespace

OrderStatus order_status_from_stored(std::int64_t stored) {
  if (stored == kStoredAwaitingPayment) return OrderStatus::awaiting_payment;
  if (stored == kStoredPaid) return OrderStatus::paid;
  if (stored == kStoredCancelled) return OrderStatus::cancelled;
  throw Poco::Data::DataException("orders.status holds " + std::to_string(stored) + ", not an order status");
}

void open_schema(Poco::Data::Session& session) {
  // Under the write lock, so two processes opening a new (or old) file do not
  // both lay it out (or upgrade it).
  WriteTransaction transaction(Poco::Data::SQLite::Utility::dbHandle(session));
  int version = 0;
  session << "PRAGMA user_version", into(version), now;
  if (version == kSchemaVersion) return;
  if (version >= kOldestUpgradable && version < kSchemaVersion) {
    if (version < kLifecycleVersion) upgrade_to_lifecycle(session);
    if (version < kTopUpVersion) run(session, top_up_objects());
    session << std::string("ALTER TABLE products ADD COLUMN ") + kStockShardsColumn, now;
  } else if (version != 0) {
    throw Poco::Data::DataException("the file has flashsale schema version " + std::to_string(version) +
                                    ", this build reads versions " + std::to_string(kOldestUpgradable) + " to " +
                                    std::to_string(kSchemaVersion) +
                                    ": open it with the build that wrote it, or set db.path to a new file");
  } else {
    int objects = 0;
    session << "SELECT count(*) FROM sqlite_master", into(objects), now;
    if (objects != 0) {
      throw Poco::Data::DataException(
          "the file holds tables but no flashsale schema version (the layout of an older flashsale, with text "
          "request ids in order_requests, or another program's database); this build keeps schema version " +
          std::to_string(kSchemaVersion) +
          " and cannot convert that layout: move the file away or set db.path to a new file");
    }
    run(session, base_tables());
    run(session, lifecycle_objects());
    run(session, top_up_objects());
  }
  session << "PRAGMA user_version = " + std::to_string(kSchemaVersion), now;
  transaction.commit();
}

}  // namespace flashsale::sqlite
