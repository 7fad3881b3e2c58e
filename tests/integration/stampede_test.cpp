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

  std::mutex mutex;
  std::vector<std::string> accepted;
  std::map<std::string, int> rejected;  // error code → count
  std::atomic<int> next_user{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      HttpClient client(server.port());
      for (int user = next_user++; user < kUsers; user = next_user++) {
        HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, 100000 + user));
        std::lock_guard lock(mutex);
        if (reply.status == 202)
          accepted.push_back(reply.str("request_id"));
        else
          rejected[std::to_string(reply.status) + " " + reply.error_code()]++;
      }
    });
  }
  for (auto& thread : threads) thread.join();

  INFO("accepted " << accepted.size());
  REQUIRE(accepted.size() == kStock);  // admission alone never oversells
  for (const auto& [what, count] : rejected) {
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
