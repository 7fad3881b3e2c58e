// The sqlite family as a file on disk: what make_backend leaves in the file,
// that it survives a restart, and how a db.path it cannot use stops start-up.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

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
  CHECK(has("table", "failed_requests"));
  CHECK(has("table", "product_sales"));
  CHECK(has("table", "stock_returns"));
  CHECK(has("view", "order_requests"));
  CHECK(has("index", "orders_active_user_product"));
  CHECK(has("index", "orders_awaiting_deadline"));
  // One active order per user and product: unique over the rows the partial
  // index holds only.
  CHECK(side.number("SELECT \"unique\" || partial FROM pragma_index_list('orders')"
                    " WHERE name = 'orders_active_user_product'") == 11);
  CHECK(side.number("PRAGMA user_version") == 6);
  // Order ids are plain rowids: no sqlite_sequence read and write per insert.
  CHECK(side.number("SELECT count(*) FROM sqlite_master WHERE name = 'orders' AND sql LIKE '%AUTOINCREMENT%'") == 0);
}

namespace {

void check_refusal_line(const std::string& message, const std::string& path) {
  INFO(message);
  CHECK(message.find("db.path") != std::string::npos);
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("set db.path to a new file") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

}  // namespace

TEST_CASE("sqlite family: a file of the first layout is refused, not misread", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  {
    // The tables of the layout before schema versions, with one order in them.
    SideConnection old(path);
    create_old_layout(old, 0);
    old.exec("INSERT INTO orders VALUES (1, '6f1c0c9e-3b0a-4d5e-9a51-0f6a1c2d3e4f', 1, 1, 1, 100, 100, 0, 0)");
  }
  std::string message = refusal(path);
  REQUIRE_FALSE(message.empty());
  check_refusal_line(message, path);
  CHECK(message.find("older flashsale") != std::string::npos);
  // Nothing was changed in the file.
  SideConnection side(path);
  CHECK(side.number("PRAGMA user_version") == 0);
  CHECK(side.number("SELECT count(*) FROM sqlite_master WHERE name = 'failed_requests'") == 0);
  CHECK(side.number("SELECT count(*) FROM orders") == 1);
}

TEST_CASE("sqlite family: a file of a newer schema version is refused", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  { SideConnection(path).exec("PRAGMA user_version = 7"); }
  std::string message = refusal(path);
  REQUIRE_FALSE(message.empty());
  check_refusal_line(message, path);
  CHECK(message.find("version 7") != std::string::npos);
}

TEST_CASE("sqlite family: a file of schema version 2 (AUTOINCREMENT order ids) is upgraded and keeps working",
          "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  {
    // Version 2's orders table: the same as 3's but for AUTOINCREMENT.
    SideConnection old(path);
    create_old_layout(old, 2);
    old.exec("INSERT INTO orders VALUES (41, x'00112233445566778899aabbccddeeff', 9, 1, 1, 100, 100, 0, 0)");
  }
  REQUIRE(refusal(path).empty());
  SqliteFamily family(path);
  std::unique_ptr<OrderStore> store = family.make_store();
  std::vector<PersistResult> results;
  REQUIRE(store->persist({OrderEvent{"req-v2", 10, 1, 1, 100, 0}}, 60'000, &results).is_ok());
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == RequestStatus::success);
  CHECK(results[0].order_id == 42);  // after the file's highest order id
  SideConnection side(path);
  CHECK(side.number("PRAGMA user_version") == 6);  // the latest (sqlite_lifecycle_test.cpp has the lifecycle's)
  Order old;
  REQUIRE(store->find_order(41, &old).is_ok());
  CHECK(old.status == OrderStatus::awaiting_payment);
}

TEST_CASE("sqlite family: a file of schema version 5 gives its products one stock shard", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  {
    // Version 5's products: the current layout without stock_shards.
    REQUIRE(refusal(path).empty());
    SideConnection old(path);
    old.exec("ALTER TABLE products DROP COLUMN stock_shards");
    old.exec("DELETE FROM products");
    old.exec("INSERT INTO products VALUES (1, 'before shards', 10, 100, 0, 9999999999999, 1000)");
    old.exec("PRAGMA user_version = 5");
  }
  SqliteFamily family(path);
  std::unique_ptr<OrderStore> store = family.make_store();
  SideConnection side(path);
  CHECK(side.number("PRAGMA user_version") == 6);
  Product found;
  REQUIRE(store->find_product(1, &found).is_ok());
  CHECK(found.name == "before shards");
  CHECK(found.stock_shards == 1);
  NewProduct sharded{"after shards", 10, 100, 0, 9999999999999, 5};
  Product created;
  REQUIRE(store->create_product(sharded, &created).is_ok());
  REQUIRE(store->find_product(created.id, &found).is_ok());
  CHECK(found.stock_shards == 5);
}

TEST_CASE("sqlite family: a file of the current version opens again, an empty one is laid out", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  { SideConnection(path).exec("PRAGMA user_version = 0"); }  // an empty database file
  CHECK(refusal(path).empty());
  CHECK(refusal(path).empty());
  SideConnection side(path);
  CHECK(side.number("PRAGMA user_version") == 6);
}

TEST_CASE("sqlite family: the WAL is checkpointed into the file in the background, the store still open", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family(path, {{"db.checkpoint.pages", "50"}});
  std::unique_ptr<OrderStore> store = family.make_store();
  auto file_size = [&] { return std::filesystem::file_size(path); };
  const auto laid_out = file_size();

  // Writes land in the WAL; only a checkpoint copies them into the file, and
  // the writer itself no longer runs one (nor does SQLite before ~10,000 pages).
  std::vector<PersistResult> results;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<OrderEvent> events;
    for (int i = 0; i < 256; ++i) {
      OrderEvent e;
      e.request_id = "ckpt-" + std::to_string(batch) + "-" + std::to_string(i);
      e.user_id = batch * 1000 + i + 1;
      e.product_id = 3;
      e.quantity = 1;
      e.unit_price = 100;
      e.accepted_ms = 1767261600000;
      events.push_back(e);
    }
    REQUIRE(store->persist(events, 60'000, &results).is_ok());
  }
  bool copied = false;
  for (int i = 0; i < 1000 && !copied; ++i) {
    copied = file_size() > laid_out + 200 * 1024;
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(copied);
}

TEST_CASE("sqlite family: db.checkpoint.pages out of range is refused naming the key", "[sqlite]") {
  TempDir dir;
  CHECK_THROWS_WITH(SqliteFamily(dir.file("x.db"), {{"db.checkpoint.pages", "0"}}),
                    Catch::StartsWith("db.checkpoint.pages (DB_CHECKPOINT_PAGES)"));
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
    REQUIRE(store->persist({event}, 60'000, &results).is_ok());
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
  Config config = load_config("", environ, ".");
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
