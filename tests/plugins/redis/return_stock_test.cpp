// lua/return_stock.lua through the redis Admission stage (and alone): a
// cancelled order's quantity comes back once per order, its marker expires
// with the stock it protects, the buyer's lock goes only while it holds the
// order's request, a product without stock gets nothing written but the lock
// release, and a key of another type is an error that writes nothing.
#include <catch2/catch.hpp>

#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {

constexpr OrderId kOrder = 4242;

StockReturn return_of(const OrderEvent& event, OrderId order = kOrder) {
  return StockReturn{order, event.request_id, event.user_id, event.product_id, event.quantity};
}

}  // namespace

TEST_CASE("return_stock adds an order's quantity once and frees its buyer", "[redis][admit]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 5, 3);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  CHECK(sale.remaining() == 7);

  REQUIRE(stages.admission().return_stock(return_of(event)).is_ok());
  REQUIRE(stages.admission().return_stock(return_of(event)).is_ok());
  CHECK(sale.remaining() == 10);
  CHECK_FALSE(client.exists(keys::user_lock(product, 5)));
  CHECK(client.exists(keys::returned(product, kOrder)));

  // The script alone: 1 the first time, 0 after, per order.
  std::vector<std::string> script_keys = {keys::sale(product), keys::returned(product, kOrder + 1),
                                          keys::user_lock(product, 6)};
  CHECK(client.eval_script("return_stock", script_keys, {"2", "r"})->integer == 1);
  CHECK(client.eval_script("return_stock", script_keys, {"2", "r"})->integer == 0);
  CHECK(sale.remaining() == 12);
  CHECK(stages.admission().return_stock(StockReturn{kOrder, "x", 5, product, 0}).code() == Code::invalid_argument);
  CHECK(stages.admission().return_stock(StockReturn{kOrder, "", 5, product, 1}).code() == Code::invalid_argument);
}

TEST_CASE("return_stock: the marker expires with the sale hash", "[redis][admit]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);

  SECTION("a sale hash with a ttl") {
    ProductId product = fresh_product();
    REQUIRE(stages.admission().load_stock(open_sale(product, 10, 7200)).is_ok());
    OrderEvent event = make_event(product, 1);
    REQUIRE(stages.admission().return_stock(return_of(event)).is_ok());
    // Set in the same script from the hash's PTTL: the same instant.
    long long expires = client.integer({"PEXPIRETIME", keys::sale(product)});
    CHECK(expires > 0);
    CHECK(client.integer({"PEXPIRETIME", keys::returned(product, kOrder)}) == expires);
  }
  SECTION("a sale hash without one") {
    ProductId product = fresh_product();
    REQUIRE(stages.admission().load_stock(open_sale(product, 10, 0)).is_ok());
    OrderEvent event = make_event(product, 1);
    REQUIRE(stages.admission().return_stock(return_of(event)).is_ok());
    CHECK(client.integer({"PTTL", keys::returned(product, kOrder)}) == -1);
    CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 11);
  }
}

TEST_CASE("return_stock releases the lock only while it holds the order's request", "[redis][admit]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent old_order = make_event(product, 3);
  OrderEvent holder = make_event(product, 3);
  REQUIRE(stages.admission().admit(AdmitRequest{holder, ""}).status.is_ok());

  REQUIRE(stages.admission().return_stock(return_of(old_order)).is_ok());
  CHECK(client.text({"GET", keys::user_lock(product, 3)}) == holder.request_id);
  CHECK(sale.remaining() == 10);  // the stock still comes back: it is the order's

  REQUIRE(stages.admission().return_stock(return_of(holder, kOrder + 1)).is_ok());
  CHECK_FALSE(client.exists(keys::user_lock(product, 3)));
  CHECK(sale.remaining() == 11);
}

TEST_CASE("return_stock to a product without stock writes nothing but the lock release and is not_preloaded",
          "[redis][admit]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  ProductId product = fresh_product();
  OrderEvent event = make_event(product, 8, 2);
  client.run({"SET", keys::user_lock(product, 8), event.request_id});
  client.run({"SET", keys::user_lock(product, 9), "someone-else"});

  CHECK(stages.admission().return_stock(return_of(event)).code() == Code::not_preloaded);
  std::vector<std::string> foreign_lock = {keys::sale(product), keys::returned(product, kOrder + 1),
                                           keys::user_lock(product, 9)};
  CHECK(client.eval_script("return_stock", foreign_lock, {"1", event.request_id})->integer == -1);
  CHECK_FALSE(client.exists(keys::sale(product)));
  CHECK_FALSE(client.exists(keys::returned(product, kOrder)));
  CHECK_FALSE(client.exists(keys::returned(product, kOrder + 1)));
  CHECK_FALSE(client.exists(keys::user_lock(product, 8)));
  CHECK(client.text({"GET", keys::user_lock(product, 9)}) == "someone-else");

  // Nothing was remembered: once stock is loaded the same return counts.
  REQUIRE(stages.admission().load_stock(open_sale(product, 5)).is_ok());
  REQUIRE(stages.admission().return_stock(return_of(event)).is_ok());
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 7);
}

TEST_CASE("return_stock with a key of another type fails naming it and writes nothing", "[redis][admit][fault]") {
  SaleFixture sale(10);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 4);
  REQUIRE(stages.admission().admit(AdmitRequest{event, ""}).status.is_ok());
  const std::string sale_key = keys::sale(product);
  const std::string lock = keys::user_lock(product, 4);
  const std::string marker = keys::returned(product, kOrder);

  using Commands = std::vector<std::vector<std::string>>;
  struct Fault {
    const char* name;
    std::string key;  // the key the error must name
    Commands setup;   // plants the fault
    Commands undo;
  };
  std::vector<Fault> faults = {
      {"sale hash",
       sale_key,
       {{"RENAME", sale_key, "saved"}, {"SET", sale_key, "x"}},
       {{"DEL", sale_key}, {"RENAME", "saved", sale_key}}},
      {"remaining", sale_key, {{"HSET", sale_key, "remaining", "nine"}}, {{"HSET", sale_key, "remaining", "9"}}},
      {"user lock",
       lock,
       {{"RENAME", lock, "saved"}, {"LPUSH", lock, "x"}},
       {{"DEL", lock}, {"RENAME", "saved", lock}}},
      {"marker", marker, {{"LPUSH", marker, "x"}}, {{"DEL", marker}}},
  };
  for (const Fault& fault : faults) {
    SECTION(fault.name) {
      for (const auto& command : fault.setup) client.run(command);
      Status status = stages.admission().return_stock(return_of(event));
      CHECK(status.code() == Code::internal);
      CHECK_THAT(status.message(), Catch::Contains("WRONGTYPE") && Catch::Contains(fault.key));
      for (const auto& command : fault.undo) client.run(command);

      CHECK(sale.remaining() == 9);
      CHECK(client.text({"GET", lock}) == event.request_id);
      CHECK_FALSE(client.exists(marker));

      // With the fault gone the same return goes through whole.
      REQUIRE(stages.admission().return_stock(return_of(event)).is_ok());
      CHECK(sale.remaining() == 10);
      CHECK_FALSE(client.exists(lock));
      CHECK(client.exists(marker));
    }
  }
}

}  // namespace flashsale::redis::test
