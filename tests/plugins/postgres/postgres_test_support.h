// What the postgres family's tests share: the family loaded from its real
// shared object, a server per test process with a fresh database per test
// case, and a plain libpq connection to look at (or tamper with) what the
// plugin wrote.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "flashsale/plugin.h"
#include "support/postgres_server.h"

struct pg_conn;

namespace flashsale::test {

// flashsale-postgres.so loaded the way PluginHost loads it (now + local, the
// flashsale_plugin descriptor). make_backend may be called from any thread.
class PostgresPlugin {
 public:
  PostgresPlugin();
  // The family's Backend for postgres.dsn = dsn and more `settings`, or
  // nullptr with the line it refused with in *error.
  std::unique_ptr<Backend> make_backend(const std::string& dsn, std::map<std::string, std::string> settings,
                                        std::string* error) const;

 private:
  boost::dll::shared_library library_;
  const PluginDescriptor* descriptor_ = nullptr;
};

// A Backend and one OrderStore on dsn; fails the test if either cannot be made.
// Products 1..kTestProducts, in a migrated database: the store fails an
// event whose product was never created (order_event's default product is
// one of them); ids made later follow them. PostgresStore makes them.
inline constexpr int kTestProducts = 16;
void create_test_products(const std::string& dsn);

struct PostgresStore {
  explicit PostgresStore(const std::string& dsn, std::map<std::string, std::string> settings = {});
  PostgresPlugin plugin;  // first: outlives what it made
  std::unique_ptr<Backend> backend;
  std::unique_ptr<OrderStore> store;
};

// The server of this test process, started on first use (from the main
// thread: it dies with the thread that started it), and a new empty database
// on it per call: its DSN.
PostgresServer& shared_server();
std::string fresh_database(PostgresServer& server);

inline constexpr std::int64_t kPaymentTimeoutMs = 15 * 60 * 1000;

// An event with a recognisable price and acceptance time.
OrderEvent order_event(const std::string& request_id, UserId user, ProductId product = 7, std::int32_t quantity = 1);

// Polls condition every few milliseconds until it holds or `limit` passes;
// whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = std::chrono::seconds(20));

class SideConnection;
// Whether a connection of the family's (application_name flashsale) comes to
// wait for a lock in watcher's database within a few seconds.
bool store_waits_for_a_lock(SideConnection& watcher);

// A plain libpq connection. Every call fails the test on an error, except
// try_exec, which returns the error message ("" when it worked).
class SideConnection {
 public:
  explicit SideConnection(const std::string& dsn);
  ~SideConnection();
  SideConnection(const SideConnection&) = delete;
  SideConnection& operator=(const SideConnection&) = delete;

  void exec(const std::string& sql);
  std::string try_exec(const std::string& sql);
  // The first column of the first row sql returns.
  std::string text(const std::string& sql);
  std::int64_t number(const std::string& sql);

 private:
  pg_conn* connection_ = nullptr;
};

}  // namespace flashsale::test
