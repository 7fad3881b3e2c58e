// The defining test: 2,000 buyers, 100 items, real HTTP, real SQLite file.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "integration/sale_fixture.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

TEST_CASE("2,000 concurrent buyers on stock 100: exactly 100 orders, no oversell", "[e2e]") {
  constexpr int kUsers = 2000;
  constexpr int kStock = 100;
  constexpr int kThreads = 50;
  EmbeddedServer server;
  HttpClient admin(server.port());
  long long product = create_product(admin, kStock);
  preload(admin, product);

  StampedeResult run = stampede(server.port(), product, kUsers, kThreads, 100000);
  const std::vector<std::string>& accepted = run.accepted;

  INFO("accepted " << accepted.size());
  REQUIRE(accepted.size() == kStock);  // admission alone never oversells
  for (const auto& [what, count] : run.rejected) {
    INFO(what);
    CHECK(what == "409 sold_out");
  }

  auto finals = poll_final(admin, accepted);
  REQUIRE(finals.size() == accepted.size());  // every accepted request became final
  int success = 0;
  for (const auto& [id, reply] : finals) {
    if (reply.str("status") == "success") {
      ++success;
      CHECK(reply.num("order_id") > 0);
    } else {
      CHECK_FALSE(reply.str("reason").empty());
    }
  }
  CHECK(success == kStock);

  std::string db = server.db_path();
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM orders WHERE product_id = " + std::to_string(product)) == kStock);
  CHECK(sqlite_scalar(db,
                      "SELECT COUNT(*) FROM (SELECT user_id FROM orders GROUP BY user_id, product_id "
                      "HAVING COUNT(*) > 1)") == 0);
  HttpReply state = admin.get("/api/products/" + std::to_string(product));
  REQUIRE(state.status == 200);
  CHECK(state.num("remaining") +
            sqlite_scalar(db, "SELECT SUM(quantity) FROM orders WHERE product_id = " + std::to_string(product)) ==
        kStock);
  HttpReply reconcile = admin.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  INFO(reconcile.body);
  CHECK(reconcile.num("initial_stock") == kStock);
  CHECK(reconcile.num("orders") == kStock);
  CHECK(reconcile.num("admit_remaining") == 0);
  CHECK(reconcile.num("in_flight") == 0);
  CHECK(reconcile.json->getValue<bool>("reconciled"));
  CHECK(server.stop() == 0);
}
