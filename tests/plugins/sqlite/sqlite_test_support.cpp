#include "sqlite_test_support.h"

#include "support/test_logger.h"

#include <sqlite3.h>

#include <stdexcept>

#include <catch2/catch.hpp>

#include "support/temp_dir.h"

namespace flashsale::test {

SqliteFamily::SqliteFamily(const std::string& db_path, std::map<std::string, std::string> settings) {
  library_.load(plugin_dir() + "/flashsale-sqlite.so",
                boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  const auto& descriptor = library_.get_alias<const PluginDescriptor>("flashsale_plugin");
  REQUIRE(descriptor.abi_version == kPluginAbiVersion);
  REQUIRE(std::string(descriptor.family) == "sqlite");
  std::string error;
  settings["db.path"] = db_path;
  db_path_ = db_path;
  backend_.reset(descriptor.make_backend(Settings(std::move(settings)), flashsale::test::test_logger().services(), &error));
  if (!backend_) throw std::runtime_error(error);
}

SqliteFamily::~SqliteFamily() = default;

std::unique_ptr<OrderStore> SqliteFamily::make_store() {
  std::string error;
  std::unique_ptr<OrderStore> store(backend_->make_order_store(&error));
  INFO(error);
  REQUIRE(store != nullptr);
  SideConnection side(db_path_);
  side.exec("WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < " +
            std::to_string(kTestProducts) +
            ") INSERT OR IGNORE INTO products (id, name, stock, sale_price, start_ms, end_ms, created_ms)"
            " SELECT id, 'test ' || id, 1000000, 100, 0, 4102444800000, 0 FROM n");
  return store;
}

// What opening path with the family says, or "" when it opens.
std::string refusal(const std::string& path) {
  try {
    SqliteFamily family(path);
    family.make_store();
    return "";
  } catch (const std::runtime_error& error) {
    return error.what();
  }
}

void create_old_layout(SideConnection& old, int version) {
  REQUIRE((version == 0 || version == 2 || version == 3));
  old.exec(
      "CREATE TABLE products (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, stock INTEGER NOT NULL,"
      " sale_price INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL)");
  old.exec(std::string("CREATE TABLE orders (id INTEGER PRIMARY KEY") + (version < 3 ? " AUTOINCREMENT" : "") +
           ", request_id " + (version == 0 ? "TEXT" : "BLOB") +
           " NOT NULL UNIQUE, user_id INTEGER NOT NULL, product_id INTEGER NOT NULL, quantity INTEGER NOT NULL,"
           " unit_price INTEGER NOT NULL, amount INTEGER NOT NULL, accepted_ms INTEGER NOT NULL,"
           " created_ms INTEGER NOT NULL)");
  if (version == 0) {
    old.exec(
        "CREATE TABLE order_requests (request_id TEXT NOT NULL PRIMARY KEY, user_id INTEGER NOT NULL,"
        " product_id INTEGER NOT NULL, quantity INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT,"
        " order_id INTEGER, updated_ms INTEGER NOT NULL)");
    return;
  }
  old.exec("CREATE UNIQUE INDEX orders_user_product ON orders (user_id, product_id)");
  old.exec(
      "CREATE TABLE failed_requests (request_id BLOB NOT NULL PRIMARY KEY, user_id INTEGER NOT NULL,"
      " product_id INTEGER NOT NULL, quantity INTEGER NOT NULL, reason TEXT NOT NULL,"
      " failed_ms INTEGER NOT NULL) WITHOUT ROWID");
  old.exec(
      "CREATE TABLE product_sales (product_id INTEGER PRIMARY KEY, orders INTEGER NOT NULL,"
      " quantity_sold INTEGER NOT NULL, failed_requests INTEGER NOT NULL)");
  // The view as those builds made it, without the text form of UUID ids.
  old.exec(
      "CREATE VIEW order_requests AS SELECT request_id, user_id, product_id, quantity, 'success' AS status,"
      " NULL AS reason, id AS order_id, created_ms AS updated_ms FROM orders UNION ALL SELECT request_id, user_id,"
      " product_id, quantity, 'failed', reason, NULL, failed_ms FROM failed_requests");
  old.exec("PRAGMA user_version = " + std::to_string(version));
}

SideConnection::SideConnection(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db_);
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
}

SideConnection::~SideConnection() {
  sqlite3_close(db_);
}

void SideConnection::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "?";
    sqlite3_free(message);
    throw std::runtime_error(sql + ": " + text);
  }
}

std::string SideConnection::text(const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
  }
  std::string value;
  if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  }
  sqlite3_finalize(statement);
  return value;
}

std::int64_t SideConnection::number(const std::string& sql) {
  return std::stoll(text(sql));
}

}  // namespace flashsale::test
