#include "sqlite_test_support.h"

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
  backend_.reset(descriptor.make_backend(Settings(std::move(settings)), &error));
  if (!backend_) throw std::runtime_error(error);
}

SqliteFamily::~SqliteFamily() = default;

std::unique_ptr<OrderStore> SqliteFamily::make_store() {
  std::string error;
  std::unique_ptr<OrderStore> store(backend_->make_order_store(&error));
  INFO(error);
  REQUIRE(store != nullptr);
  return store;
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
