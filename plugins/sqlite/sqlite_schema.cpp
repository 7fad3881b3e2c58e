#include "sqlite_schema.h"

#include <sqlite3.h>

#include <vector>

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>

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
// relies on, so this build reads and writes those files as they are.
constexpr int kSchemaVersion = 3;
constexpr int kOldestReadable = 2;

// The statements that lay out a new file, in order.
std::vector<std::string> layout() {
  return {
      "CREATE TABLE products ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " name TEXT NOT NULL,"
      " stock INTEGER NOT NULL,"
      " sale_price INTEGER NOT NULL,"
      " start_ms INTEGER NOT NULL,"
      " end_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL)",
      // One row per successful request. request_id (a key as request_key.h
      // makes it) makes a redelivered event harmless; (user_id, product_id)
      // backs one order per user per product. Server ids are time-ordered, so
      // both the table and the request_id index grow at their right edge.
      // The order id is the rowid without AUTOINCREMENT: that keyword costs
      // a read and a write of sqlite_sequence in every insert (a fifth of
      // persist's time), and only makes a difference when the newest orders
      // are deleted, which flashsale never does (a new order then takes the
      // next id after the highest one left).
      "CREATE TABLE orders ("
      " id INTEGER PRIMARY KEY,"
      " request_id BLOB NOT NULL UNIQUE,"
      " user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " unit_price INTEGER NOT NULL,"
      " amount INTEGER NOT NULL,"
      " accepted_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL)",
      "CREATE UNIQUE INDEX orders_user_product ON orders (user_id, product_id)",
      // One row per failed request, what its redelivery and /result read back.
      "CREATE TABLE failed_requests ("
      " request_id BLOB NOT NULL PRIMARY KEY,"
      " user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " reason TEXT NOT NULL,"
      " failed_ms INTEGER NOT NULL) WITHOUT ROWID",
      // What sales() answers, kept by persist in the transaction of each batch
      // (one row update per product in the batch), so it is exact.
      "CREATE TABLE product_sales ("
      " product_id INTEGER PRIMARY KEY,"
      " orders INTEGER NOT NULL,"
      " quantity_sold INTEGER NOT NULL,"
      " failed_requests INTEGER NOT NULL)",
      // Every finished request with its id as text, for people and tools
      // reading the file; the store itself reads the tables.
      "CREATE VIEW order_requests AS"
      " SELECT " +
          request_id_as_text("request_id") +
          " AS request_id, user_id, product_id, quantity,"
          " 'success' AS status, NULL AS reason, id AS order_id, created_ms AS updated_ms FROM orders"
          " UNION ALL"
          " SELECT " +
          request_id_as_text("request_id") +
          ", user_id, product_id, quantity, 'failed', reason, NULL,"
          " failed_ms FROM failed_requests",
  };
}

}  // namespace

void open_schema(Poco::Data::Session& session) {
  // Under the write lock, so two processes opening a new file do not both
  // create it.
  WriteTransaction transaction(Poco::Data::SQLite::Utility::dbHandle(session));
  int version = 0;
  session << "PRAGMA user_version", into(version), now;
  if (version >= kOldestReadable && version <= kSchemaVersion) return;
  if (version != 0) {
    throw Poco::Data::DataException("the file has flashsale schema version " + std::to_string(version) +
                                    ", this build reads versions " + std::to_string(kOldestReadable) + " to " +
                                    std::to_string(kSchemaVersion) +
                                    ": open it with the build that wrote it, or set db.path to a new file");
  }
  int objects = 0;
  session << "SELECT count(*) FROM sqlite_master", into(objects), now;
  if (objects != 0) {
    throw Poco::Data::DataException(
        "the file holds tables but no flashsale schema version (the layout of an older flashsale, with text "
        "request ids in order_requests, or another program's database); this build keeps schema version " +
        std::to_string(kSchemaVersion) +
        " and does not convert files: move the file away or set db.path to a new file");
  }
  for (const std::string& statement : layout()) session << statement, now;
  session << "PRAGMA user_version = " + std::to_string(kSchemaVersion), now;
  transaction.commit();
}

}  // namespace flashsale::sqlite
