#include "postgres_test_support.h"

#include "support/test_logger.h"

#include <libpq-fe.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "support/temp_dir.h"

namespace flashsale::test {

PostgresPlugin::PostgresPlugin() {
  library_.load(plugin_dir() + "/flashsale-postgres.so",
                boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  descriptor_ = &library_.get_alias<const PluginDescriptor>("flashsale_plugin");
  REQUIRE(descriptor_->abi_version == kPluginAbiVersion);
  REQUIRE(std::string(descriptor_->family) == "postgres");
}

std::unique_ptr<Backend> PostgresPlugin::make_backend(const std::string& dsn,
                                                      std::map<std::string, std::string> settings,
                                                      std::string* error) const {
  settings["postgres.dsn"] = dsn;
  return std::unique_ptr<Backend>(descriptor_->make_backend(Settings(std::move(settings)), flashsale::test::test_logger().services(), error));
}

PostgresStore::PostgresStore(const std::string& dsn, std::map<std::string, std::string> settings) {
  std::string error;
  backend = plugin.make_backend(dsn, std::move(settings), &error);
  INFO(error);
  REQUIRE(backend != nullptr);
  store.reset(backend->make_order_store(&error));
  INFO(error);
  REQUIRE(store != nullptr);
  create_test_products(dsn);
}

void create_test_products(const std::string& dsn) {
  SideConnection side(dsn);
  side.exec("INSERT INTO products (id, name, stock, sale_price, start_ms, end_ms, created_ms) OVERRIDING SYSTEM VALUE"
            " SELECT n, 'test ' || n, 1000000, 100, 0, 4102444800000, 0 FROM generate_series(1, " +
            std::to_string(kTestProducts) + ") AS n ON CONFLICT DO NOTHING");
  side.exec("SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products))");
}

PostgresServer& shared_server() {
  static PostgresServer server;
  return server;
}

std::string fresh_database(PostgresServer& server) {
  static std::atomic<int> next{0};
  std::string name = "test_" + std::to_string(++next);
  SideConnection admin(server.dsn());
  admin.exec("CREATE DATABASE " + name);
  return server.dsn(name);
}

OrderEvent order_event(const std::string& request_id, UserId user, ProductId product, std::int32_t quantity) {
  OrderEvent event;
  event.request_id = request_id;
  event.user_id = user;
  event.product_id = product;
  event.quantity = quantity;
  event.unit_price = 1999;
  event.accepted_ms = 1767261600000;
  return event;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool store_waits_for_a_lock(SideConnection& watcher) {
  return eventually(
      [&] {
        return watcher.number(
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flashsale'"
                   " AND wait_event_type = 'Lock' AND datname = current_database()") > 0;
      },
      std::chrono::seconds(10));
}

SideConnection::SideConnection(const std::string& dsn) : connection_(PQconnectdb(dsn.c_str())) {
  if (PQstatus(connection_) != CONNECTION_OK) {
    std::string message = PQerrorMessage(connection_);
    PQfinish(connection_);
    throw std::runtime_error("cannot connect to " + dsn + ": " + message);
  }
  PQsetNoticeProcessor(
      connection_, [](void*, const char*) {}, nullptr);
}

SideConnection::~SideConnection() {
  PQfinish(connection_);
}

std::string SideConnection::try_exec(const std::string& sql) {
  PGresult* result = PQexec(connection_, sql.c_str());
  ExecStatusType status = PQresultStatus(result);
  std::string error = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(result);
  PQclear(result);
  return error;
}

void SideConnection::exec(const std::string& sql) {
  std::string error = try_exec(sql);
  INFO(sql << ": " << error);
  REQUIRE(error.empty());
}

std::string SideConnection::text(const std::string& sql) {
  PGresult* result = PQexec(connection_, sql.c_str());
  std::string error = PQresultStatus(result) == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(result);
  bool has_row = error.empty() && PQntuples(result) > 0;
  std::string value = has_row ? PQgetvalue(result, 0, 0) : "";
  PQclear(result);
  INFO(sql << ": " << error);
  REQUIRE(error.empty());
  REQUIRE(has_row);
  return value;
}

std::int64_t SideConnection::number(const std::string& sql) {
  return std::stoll(text(sql));
}

}  // namespace flashsale::test
