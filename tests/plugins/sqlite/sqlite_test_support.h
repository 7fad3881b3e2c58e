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

inline constexpr int kTestProducts = 16;

// flashsale-sqlite.so loaded the way PluginHost loads it (now + local, the
// flashsale_plugin descriptor), with db.path set to db_path. The host makes
// all six stages at once; these tests want the persist stage alone.
class SqliteFamily {
 public:
  // `settings`: more keys for the family beside db.path.
  explicit SqliteFamily(const std::string& db_path, std::map<std::string, std::string> settings = {});
  ~SqliteFamily();

  // A new OrderStore on the file, where products 1..kTestProducts exist (the
  // store fails an event whose product was never created); fails the test
  // if the family cannot make one.
  std::unique_ptr<OrderStore> make_store();

 private:
  std::string db_path_;
  boost::dll::shared_library library_;  // first: outlives backend_
  std::unique_ptr<Backend> backend_;
};

// What opening path with the family says (the line make_backend refuses it
// with), or "" when it opens.
std::string refusal(const std::string& path);

class SideConnection;

// Lays out, in an empty database, the tables of a file an earlier flashsale
// wrote, and marks it with that layout's version: 0 for the first layout
// (products, orders with text request ids, an order_requests table), 2 or 3
// for the two before the order lifecycle (they differ only in AUTOINCREMENT
// on orders.id). No rows.
void create_old_layout(SideConnection& old, int version);

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
