// An operator's hands on a live sale through the real server: pause and
// resume (buys answer 409 sale_paused meanwhile), stock top-ups racing a
// stampede of buyers on the embedded and the redis profile, a top-up across
// a crash before its hand-over, and the pause holding for a second server
// process on the same Redis.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "integration/sale_fixture.h"
#include "support/redis_server.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

namespace {

std::string admin_path(long long product, const std::string& action) {
  return "/api/admin/products/" + std::to_string(product) + "/" + action;
}

HttpReply top_up(HttpClient& client, long long product, long long add) {
  return client.post(admin_path(product, "stock"), R"({"add":)" + std::to_string(add) + "}", kAdmin);
}

void check_error(const HttpReply& reply, int status, const std::string& code) {
  INFO(reply.body);
  CHECK(reply.status == status);
  CHECK(reply.error_code() == code);
}

// Buyers on `ports` (round robin, 8 connections each) while `top_ups` top-ups
// of `each` go in through ports[0]; every buyer is new, and the buyers stop
// at a sold_out seen after the last top-up. Returns the accepted request ids.
std::vector<std::string> stampede_with_top_ups(const std::vector<int>& ports, long long product, int top_ups,
                                               long long each) {
  std::atomic<bool> topped_up{false};
  std::atomic<long long> next_user{1};
  std::mutex mutex;
  std::vector<std::string> accepted;
  std::map<std::string, int> others;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8 * static_cast<int>(ports.size()); ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(ports[t % ports.size()]);
      for (;;) {
        bool after_top_ups = topped_up;
        HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, next_user++));
        std::lock_guard lock(mutex);
        if (reply.status == 202) {
          accepted.push_back(reply.str("request_id"));
        } else if (reply.error_code() != "sold_out") {
          ++others[std::to_string(reply.status) + " " + reply.error_code()];
        } else if (after_top_ups) {
          return;
        }
      }
    });
  }
  HttpClient admin(ports[0]);
  for (int i = 0; i < top_ups; ++i) {
    HttpReply added = top_up(admin, product, each);
    INFO(added.body);
    CHECK(added.status == 200);
    CHECK(added.json->getValue<bool>("applied"));
  }
  topped_up = true;
  for (std::thread& thread : threads) thread.join();
  CHECK(others.empty());
  return accepted;
}

}  // namespace

TEST_CASE("admin: a paused sale answers 409 sale_paused and resume restores it", "[e2e][admin]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 10);
  preload(client, product);
  REQUIRE(client.post("/api/flash_sale/buy", buy_body(product, 1)).status == 202);

  check_error(client.post(admin_path(product, "pause"), ""), 401, "unauthorized");
  HttpReply paused = client.post(admin_path(product, "pause"), "", kAdmin);
  INFO(paused.body);
  REQUIRE(paused.status == 200);
  CHECK(paused.num("product_id") == product);
  CHECK(paused.json->getValue<bool>("paused"));
  CHECK(client.post(admin_path(product, "pause"), "", kAdmin).status == 200);  // idempotent
  check_error(client.post("/api/flash_sale/buy", buy_body(product, 2)), 409, "sale_paused");
  CHECK(client.get("/api/products/" + std::to_string(product)).json->getValue<bool>("paused"));
  CHECK(reconcile(client, product).json->getValue<bool>("paused"));
  CHECK(remaining(client, product) == 9);

  HttpReply resumed = client.post(admin_path(product, "resume"), "", kAdmin);
  REQUIRE(resumed.status == 200);
  CHECK_FALSE(resumed.json->getValue<bool>("paused"));
  CHECK(client.post(admin_path(product, "resume"), "", kAdmin).status == 200);
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 2)).status == 202);
  CHECK(remaining(client, product) == 8);

  check_error(client.post(admin_path(product + 1000, "pause"), "", kAdmin), 404, "not_found");
  check_error(client.post("/api/admin/products/x/resume", "", kAdmin), 404, "not_found");
}

TEST_CASE("admin: a top-up is refused for a bad body an unknown product or a sale without stock", "[e2e][admin]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 10);
  check_error(top_up(client, product, 5), 409, "not_preloaded");
  preload(client, product);
  for (const std::string body : {R"({"add":0})", R"({"add":-1})", R"({"add":1000000001})", R"({"add":"5"})", R"({})",
                                 "not json", R"({"add":1.5})"}) {
    INFO(body);
    check_error(client.post(admin_path(product, "stock"), body, kAdmin), 400, "invalid_request");
  }
  check_error(top_up(client, product + 1000, 5), 404, "not_found");
  check_error(client.post(admin_path(product, "stock"), R"({"add":5})"), 401, "unauthorized");
  CHECK(remaining(client, product) == 10);
  CHECK(reconcile(client, product).num("stock_added") == 0);

  HttpReply added = top_up(client, product, 1'000'000'000);  // the bound itself
  INFO(added.body);
  CHECK(added.status == 200);
  CHECK(added.num("remaining") == 1'000'000'010);
  CHECK(added.num("total_stock") == 1'000'000'010);
}

TEST_CASE("admin: a top-up racing a stampede sells exactly initial plus added on the embedded profile",
          "[e2e][admin]") {
  EmbeddedServer server;
  HttpClient admin(server.port());
  long long product = create_product(admin, 50);
  preload(admin, product);
  std::vector<std::string> accepted = stampede_with_top_ups({server.port()}, product, 10, 5);
  CHECK(accepted.size() == 100);
  auto finals = poll_final(admin, accepted);
  CHECK(finals.size() == accepted.size());
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  HttpReply totals = reconcile(admin, product);
  INFO(totals.body);
  CHECK(totals.num("initial_stock") == 50);
  CHECK(totals.num("stock_added") == 50);
  CHECK(totals.num("stock_top_ups_pending") == 0);
  CHECK(totals.num("quantity_sold") == 100);
  CHECK(totals.num("admit_remaining") == 0);
  CHECK(totals.json->getValue<bool>("reconciled"));
  CHECK(server.stop() == 0);
  CHECK(sqlite_scalar(server.db_path(), "SELECT COUNT(*) FROM orders") == 100);
}

TEST_CASE("admin: a crash between recording a top-up and its hand-over adds it once after the restart",
          "[e2e][admin]") {
  TempDir dir;
  long long product = 0;
  {
    EmbeddedServer server(std::map<std::string, std::string>{{"FAULT_CRASH_BEFORE_STOCK_RETURN", "1"}}, &dir);
    HttpClient client(server.port());
    product = create_product(client, 2);
    preload(client, product);
    CHECK_THROWS(top_up(client, product, 3));  // recorded, then the process exits: no answer
    CHECK(server.stop() == 86);
  }
  {
    EmbeddedServer server({}, &dir);
    HttpClient client(server.port());
    // The memory admit stage starts empty: the pending top-up stays pending
    // (the restarted expiry worker finds no stock for it), so the preload
    // loads the initial stock alone, and the worker then adds the top-up once.
    HttpReply totals = reconcile(client, product);
    CHECK(totals.num("stock_top_ups_pending") == 3);
    CHECK(totals.num("stock_added") == 3);
    preload(client, product);  // initial + completed top-ups (none yet) - held
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         totals.num("stock_top_ups_pending") != 0 && std::chrono::steady_clock::now() < deadline;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      totals = reconcile(client, product);
    }
    INFO(totals.body);
    CHECK(totals.num("stock_top_ups_pending") == 0);
    CHECK(totals.num("admit_remaining") == 5);
    CHECK(totals.json->getValue<bool>("reconciled"));
    CHECK(server.stop() == 0);
  }
  EmbeddedServer server({}, &dir);
  HttpClient client(server.port());
  preload(client, product);  // again from the persist stage: 2 + 3, once
  CHECK(remaining(client, product) == 5);
}

TEST_CASE(
    "redis profile: a pause holds for a second server on the same Redis and top-ups racing buyers on both "
    "sell exactly initial plus added",
    "[e2e][redis][admin]") {
  RedisServer redis;
  TempDir dir;
  std::map<std::string, std::string> env = {
      {"REDIS_ADDR", redis.addr()}, {"DB_PATH", dir.file("flash_sale.db")}, {"PLUGIN_DIR", plugin_dir()}};
  ServerProcess first(source_dir() + "/etc/redis.properties", env);
  ServerProcess second(source_dir() + "/etc/redis.properties", env);
  HttpClient one(first.port()), two(second.port());
  long long product = create_product(one, 50);
  preload(one, product);

  REQUIRE(one.post(admin_path(product, "pause"), "", kAdmin).status == 200);
  check_error(two.post("/api/flash_sale/buy", buy_body(product, 1)), 409, "sale_paused");
  check_error(one.post("/api/flash_sale/buy", buy_body(product, 1)), 409, "sale_paused");
  // A preload does not open it either.
  preload(two, product);
  check_error(two.post("/api/flash_sale/buy", buy_body(product, 1)), 409, "sale_paused");
  REQUIRE(two.post(admin_path(product, "resume"), "", kAdmin).status == 200);

  std::vector<std::string> accepted = stampede_with_top_ups({first.port(), second.port()}, product, 10, 5);
  CHECK(accepted.size() == 100);
  auto finals = poll_final(one, accepted, 90000);
  CHECK(finals.size() == accepted.size());
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  HttpReply totals = reconcile(two, product);
  INFO(totals.body);
  CHECK(totals.num("stock_added") == 50);
  CHECK(totals.num("quantity_sold") == 100);
  CHECK(totals.num("admit_remaining") == 0);
  CHECK(totals.json->getValue<bool>("reconciled"));
  CHECK(first.stop() == 0);
  CHECK(second.stop() == 0);
  CHECK(sqlite_scalar(dir.file("flash_sale.db"), "SELECT COUNT(*) FROM orders") == 100);
}
