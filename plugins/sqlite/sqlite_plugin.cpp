// The sqlite backend family: the persist stage (OrderStore) on the SQLite file
// db.path names, through Poco::Data. It provides no other stage.
#include <sqlite3.h>

#include <memory>

#include "flashsale/plugin.h"
#include "sqlite_settings.h"
#include "sqlite_error.h"
#include "sqlite_order_store.h"

namespace flashsale::sqlite {
namespace {

// nullptr and a line naming db.path and the file when the file cannot be used.
OrderStore* open_store(const std::string& path, int checkpoint_pages, std::string* error) noexcept {
  try {
    return new SqliteOrderStore(path, checkpoint_pages);
  } catch (const std::exception& failure) {
    if (error != nullptr) {
      *error = "db.path (" + Settings::env_name("db.path") + "): cannot open SQLite database " + path + ": " +
               describe(failure);
    }
  } catch (...) {
    if (error != nullptr) *error = "db.path: cannot open SQLite database " + path;
  }
  return nullptr;
}

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(std::string path, int checkpoint_pages) : path_(std::move(path)), checkpoint_pages_(checkpoint_pages) {}

  OrderStore* make_order_store(std::string* error) noexcept override {
    return open_store(path_, checkpoint_pages_, error);
  }

  // The file opens and its schema reads, on a connection of its own.
  Status ready() noexcept override {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(db, 1000);
      rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    }
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if (rc == SQLITE_OK) return Status::ok();
    return {Code::unavailable, "db.path (DB_PATH) " + path_ + ": " + message};
  }

 private:
  std::string path_;
  int checkpoint_pages_;
};

Backend* make_backend(const Settings& settings, const HostServices&, std::string* error) noexcept {
  try {
    std::string path = settings.get(setting::kPath);
    std::string bad;
    if (path.empty()) bad = "db.path (DB_PATH): must not be empty";
    auto checkpoint_pages = static_cast<int>(settings.get_int(setting::kCheckpointPages, &bad));
    if (!bad.empty()) {
      if (error != nullptr) *error = bad;
      return nullptr;
    }
    // Open the file (and create the schema) now, so a bad path stops start-up
    // when the family loads.
    if (std::unique_ptr<OrderStore> probe{open_store(path, checkpoint_pages, error)}; probe == nullptr) return nullptr;
    return new SqliteBackend(path, checkpoint_pages);
  } catch (...) {  // only bad_alloc can get here
    if (error != nullptr) *error = "out of memory";
    return nullptr;
  }
}

const PluginDescriptor descriptor{kPluginAbiVersion, "sqlite", &make_backend, setting::kAll, setting::kCount, "persist"};

}  // namespace
}  // namespace flashsale::sqlite

FLASHSALE_PLUGIN(flashsale::sqlite::descriptor)
