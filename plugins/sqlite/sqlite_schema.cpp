#include "sqlite_schema.h"

#include <sqlite3.h>

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>

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
  // 32 MiB of page cache: the unique indexes on text request ids are probed
  // for every event and should stay in memory.
  session << "PRAGMA cache_size = -32768", now;
  // Request ids are random UUIDs, so a batch of 256 events dirties hundreds of
  // index pages, and each checkpoint copies them back and syncs the file.
  // Checkpointing every ~40 MiB of log instead of SQLite's ~4 MiB copies a page
  // rewritten by many batches once; it nearly doubled persist throughput here.
  session << "PRAGMA wal_autocheckpoint = 10000", now;
  return session;
}

void create_schema(Poco::Data::Session& session) {
  // Each statement is atomic on its own; a start interrupted half-way is
  // completed by the next one.
  static const char* const kSchema[] = {
      "CREATE TABLE IF NOT EXISTS products ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " name TEXT NOT NULL,"
      " stock INTEGER NOT NULL,"
      " sale_price INTEGER NOT NULL,"
      " start_ms INTEGER NOT NULL,"
      " end_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL)",
      // request_id makes a redelivered event harmless; (user_id, product_id)
      // backs one order per user per product.
      "CREATE TABLE IF NOT EXISTS orders ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " request_id TEXT NOT NULL UNIQUE,"
      " user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " unit_price INTEGER NOT NULL,"
      " amount INTEGER NOT NULL,"
      " accepted_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL)",
      "CREATE UNIQUE INDEX IF NOT EXISTS orders_user_product ON orders (user_id, product_id)",
      // One row per finished request, success or not: what a redelivery and
      // /result read back.
      "CREATE TABLE IF NOT EXISTS order_requests ("
      " request_id TEXT NOT NULL PRIMARY KEY,"
      " user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL,"
      " quantity INTEGER NOT NULL,"
      " status TEXT NOT NULL,"
      " reason TEXT,"
      " order_id INTEGER,"
      " updated_ms INTEGER NOT NULL)",
      // sales() reads only this index: quantity makes it covering.
      "CREATE INDEX IF NOT EXISTS order_requests_product_status ON order_requests (product_id, status, quantity)",
  };
  for (const char* statement : kSchema) session << statement, now;
}

}  // namespace flashsale::sqlite
