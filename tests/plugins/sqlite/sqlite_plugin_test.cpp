// The sqlite family as a file on disk: what make_backend leaves in the file,
// that it survives a restart, and how a db.path it cannot use stops start-up.
#include <unistd.h>

#include <cstdio>

#include <catch2/catch.hpp>

#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "sqlite_test_support.h"
#include "support/temp_dir.h"

namespace flashsale::test {

TEST_CASE("sqlite family: make_backend creates the schema in the file", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family(path);
  SideConnection side(path);
  auto has = [&](const char* type, const char* name) {
    return side.number(std::string("SELECT count(*) FROM sqlite_master WHERE type = '") + type + "' AND name = '" +
                       name + "'") == 1;
  };
  CHECK(has("table", "products"));
  CHECK(has("table", "orders"));
  CHECK(has("table", "order_requests"));
  CHECK(has("index", "orders_user_product"));
  CHECK(has("index", "order_requests_product_status"));
  CHECK(side.number("SELECT \"unique\" FROM pragma_index_list('orders') WHERE name = 'orders_user_product'") == 1);
}

TEST_CASE("sqlite family: the file is in WAL mode", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family(path);
  auto store = family.make_store();
  SideConnection side(path);
  CHECK(side.text("PRAGMA journal_mode") == "wal");
}

TEST_CASE("sqlite family: what was persisted survives reopening the file", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  Product created;
  PersistResult first;
  {
    SqliteFamily family(path);
    auto store = family.make_store();
    NewProduct product;
    product.name = "Kept";
    product.stock = 5;
    REQUIRE(store->create_product(product, &created).is_ok());
    OrderEvent event;
    event.request_id = "kept-1";
    event.user_id = 1;
    event.product_id = created.id;
    event.quantity = 1;
    std::vector<PersistResult> results;
    REQUIRE(store->persist({event}, &results).is_ok());
    first = results.at(0);
  }
  SqliteFamily family(path);
  auto store = family.make_store();
  RequestState state;
  REQUIRE(store->find_request("kept-1", &state).is_ok());
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == first.order_id);
  Product found;
  REQUIRE(store->find_product(created.id, &found).is_ok());
  CHECK(found.name == "Kept");
  ProductSales sales;
  REQUIRE(store->sales(created.id, &sales).is_ok());
  CHECK(sales.orders == 1);
}

TEST_CASE("sqlite family: a db.path that cannot be opened stops start-up naming db.path", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("missing-dir/flash_sale.db");
  Config config = load_config("", environ, ".", nullptr);
  for (std::string& family : config.stage_backend) family = "sqlite";
  config.plugin_dir = plugin_dir();
  config.settings.set("db.path", path);
  PluginHost host(config);
  try {
    host.make_stages();
    FAIL("make_stages succeeded");
  } catch (const StartupError& error) {
    std::string message = error.what();
    INFO(message);
    CHECK(message.find("db.path") != std::string::npos);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("sqlite family: a file that is not a database is refused at start", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("not-a-db");
  {
    std::FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file != nullptr);
    std::fputs("this is not an SQLite database, just some text long enough to have a header\n", file);
    std::fclose(file);
  }
  try {
    SqliteFamily family(path);
    FAIL("make_backend succeeded");
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    INFO(message);
    CHECK(message.find("db.path") != std::string::npos);
    CHECK(message.find(path) != std::string::npos);
  }
}

}  // namespace flashsale::test
