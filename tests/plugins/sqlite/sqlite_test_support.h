// What the sqlite family's tests share: the family loaded from its real shared
// object, and a second, independent connection to the same file to look at
// (or tamper with) what the plugin wrote.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "flashsale/plugin.h"

struct sqlite3;

namespace flashsale::test {

// flashsale-sqlite.so loaded the way PluginHost loads it (now + local, the
// flashsale_plugin descriptor), with db.path set to db_path. The host makes
// all six stages at once; these tests want the persist stage alone.
class SqliteFamily {
 public:
  // `settings`: more keys for the family beside db.path.
  explicit SqliteFamily(const std::string& db_path, std::map<std::string, std::string> settings = {});
  ~SqliteFamily();

  // A new OrderStore on the file; fails the test if the family cannot make one.
  std::unique_ptr<OrderStore> make_store();

 private:
  boost::dll::shared_library library_;  // first: outlives backend_
  std::unique_ptr<Backend> backend_;
};

// A plain SQLite C API connection to a database file, created if missing.
class SideConnection {
 public:
  explicit SideConnection(const std::string& path);
  ~SideConnection();
  SideConnection(const SideConnection&) = delete;
  SideConnection& operator=(const SideConnection&) = delete;

  void exec(const std::string& sql);
  // The first column of the first row sql returns.
  std::string text(const std::string& sql);
  std::int64_t number(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace flashsale::test
