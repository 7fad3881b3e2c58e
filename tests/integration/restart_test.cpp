#include <catch2/catch.hpp>

#include "integration/sale_fixture.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

TEST_CASE("after a restart on the same database, preload never resells", "[e2e]") {
  TempDir dir;
  long long product = 0;
  std::vector<std::string> ids;
  {
    EmbeddedServer server({}, &dir);
    HttpClient client(server.port());
    product = create_product(client, 10);
    preload(client, product);
    for (int user = 1; user <= 4; ++user) {
      HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, user));
      REQUIRE(reply.status == 202);
      ids.push_back(reply.str("request_id"));
    }
    CHECK(server.stop() == 0);  // graceful: drains what was accepted
  }
  CHECK(sqlite_scalar(dir.file("flash_sale.db"), "SELECT COUNT(*) FROM orders") == 4);

  EmbeddedServer server({}, &dir);
  HttpClient client(server.port());
  // Results survive the restart: the fast store is empty, the database answers.
  auto finals = poll_final(client, ids, 5000);
  REQUIRE(finals.size() == 4);
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");

  HttpReply before = client.post("/api/flash_sale/buy", buy_body(product, 99));
  CHECK(before.error_code() == "not_preloaded");
  preload(client, product);
  preload(client, product);  // a second preload changes nothing
  HttpReply state = client.get("/api/products/" + std::to_string(product));
  CHECK(state.num("remaining") == 6);

  // A buyer from before the restart is still refused (by the database's unique key).
  HttpReply again = client.post("/api/flash_sale/buy", buy_body(product, 1));
  if (again.status == 202) {
    auto result = poll_final(client, {again.str("request_id")});
    REQUIRE(result.size() == 1);
    CHECK(result.begin()->second.str("status") == "failed");
    CHECK(result.begin()->second.str("reason") == "already_purchased");
  } else {
    CHECK(again.error_code() == "already_purchased");
  }
  int sold = 0;
  for (int user = 100; user < 120; ++user) {
    if (client.post("/api/flash_sale/buy", buy_body(product, user)).status == 202) ++sold;
  }
  CHECK(sold == 6);
  CHECK(server.stop() == 0);
  CHECK(sqlite_scalar(dir.file("flash_sale.db"), "SELECT COUNT(*) FROM orders") == 10);
}
