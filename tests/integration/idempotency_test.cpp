#include <catch2/catch.hpp>

#include "integration/sale_fixture.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

TEST_CASE("the same idempotency key returns the same request_id and makes one order", "[e2e]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 10);
  preload(client, product);
  const std::map<std::string, std::string> key = {{"X-Idempotency-Key", "req-10001-1"}};

  HttpReply first = client.post("/api/flash_sale/buy", buy_body(product, 10001), key);
  REQUIRE(first.status == 202);
  HttpReply again = client.post("/api/flash_sale/buy", buy_body(product, 10001), key);
  REQUIRE(again.status == 202);
  CHECK(again.str("request_id") == first.str("request_id"));

  auto finals = poll_final(client, {first.str("request_id")});
  REQUIRE(finals.size() == 1);
  CHECK(finals.begin()->second.str("status") == "success");
  HttpReply late = client.post("/api/flash_sale/buy", buy_body(product, 10001), key);
  CHECK(late.status == 202);
  CHECK(late.str("request_id") == first.str("request_id"));
  CHECK(late.str("status") == "success");  // a replay tells where the first request stands
  CHECK(late.json->getValue<bool>("replayed"));

  SECTION("the same key with a different body is refused") {
    HttpReply other = client.post("/api/flash_sale/buy", buy_body(product, 10002), key);
    CHECK(other.status == 422);
    CHECK(other.error_code() == "idempotency_key_reused");
  }
  CHECK(sqlite_scalar(server.db_path(), "SELECT COUNT(*) FROM orders") == 1);
  HttpReply state = client.get("/api/products/" + std::to_string(product));
  CHECK(state.num("remaining") == 9);
}

TEST_CASE("a second buy by the same user is refused as already purchased", "[e2e]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 10);
  preload(client, product);
  REQUIRE(client.post("/api/flash_sale/buy", buy_body(product, 7)).status == 202);
  HttpReply second = client.post("/api/flash_sale/buy", buy_body(product, 7));
  CHECK(second.status == 409);
  CHECK(second.error_code() == "already_purchased");
}
