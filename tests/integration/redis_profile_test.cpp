// The server on the redis profile (etc/redis.properties) against a real
// redis-server: the stampede, and Redis killed and restarted mid-run.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "integration/sale_fixture.h"
#include "support/redis_server.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

namespace {

std::unique_ptr<ServerProcess> redis_profile_server(const RedisServer& redis, const TempDir& dir) {
  return std::make_unique<ServerProcess>(source_dir() + "/etc/redis.properties",
                                         std::map<std::string, std::string>{{"REDIS_ADDR", redis.addr()},
                                                                            {"DB_PATH", dir.file("flash_sale.db")},
                                                                            {"PLUGIN_DIR", plugin_dir()},
                                                                            {"OUTBOX_CLAIM_IDLE_MS", "2000"}});
}

}  // namespace

TEST_CASE("redis profile: 2,000 concurrent buyers on stock 100 make exactly 100 orders", "[e2e][redis]") {
  RedisServer redis;
  TempDir dir;
  auto server = redis_profile_server(redis, dir);
  HttpClient admin(server->port());
  long long product = create_product(admin, 100);
  preload(admin, product);

  StampedeResult run = stampede(server->port(), product, 2000, 50, 500000);
  const std::vector<std::string>& accepted = run.accepted;
  REQUIRE(accepted.size() == 100);
  CHECK(run.rejected == std::map<std::string, int>{{"409 sold_out", 1900}});

  auto finals = poll_final(admin, accepted);
  REQUIRE(finals.size() == 100);
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  std::string db = dir.file("flash_sale.db");
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM orders") == 100);
  CHECK(sqlite_scalar(db,
                      "SELECT COUNT(*) FROM (SELECT 1 FROM orders GROUP BY user_id, product_id "
                      "HAVING COUNT(*) > 1)") == 0);
  HttpReply reconcile = admin.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  INFO(reconcile.body);
  CHECK(reconcile.num("admit_remaining") == 0);
  CHECK(reconcile.json->getValue<bool>("reconciled"));
  CHECK(server->stop() == 0);
}

TEST_CASE("redis profile: Redis killed mid-run answers 503, recovers alone, loses nothing", "[e2e][redis]") {
  RedisServer redis(RedisServerOptions{true, {}});  // appendonly yes
  TempDir dir;
  auto server = redis_profile_server(redis, dir);
  HttpClient admin(server->port());
  long long product = create_product(admin, 100000);
  preload(admin, product);

  // Buyers keep coming through the outage; requests are in flight when Redis dies.
  enum class Phase { before, down, after };
  std::atomic<Phase> phase{Phase::before};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<std::string> accepted;
  std::map<Phase, std::map<int, int>> statuses;
  std::vector<std::thread> buyers;
  std::atomic<int> next_user{1};
  for (int t = 0; t < 4; ++t) {
    buyers.emplace_back([&] {
      HttpClient client(server->port());
      while (!stop) {
        Phase seen = phase;
        HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, next_user++));
        std::lock_guard lock(mutex);
        statuses[seen][reply.status]++;
        if (reply.status == 202) accepted.push_back(reply.str("request_id"));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  redis.kill();
  phase = Phase::down;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(admin.get("/healthz").status == 200);  // the server itself stays up
  redis.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // reconnects by itself
  phase = Phase::after;
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  stop = true;
  for (auto& t : buyers) t.join();

  CHECK(statuses[Phase::before][202] > 0);
  CHECK(statuses[Phase::down][503] > 0);   // backend_unavailable while Redis is gone
  CHECK(statuses[Phase::after][202] > 0);  // recovered without a restart
  CHECK(statuses[Phase::after][503] == 0);
  for (const auto& [phase_seen, by_status] : statuses) {
    for (const auto& [status, count] : by_status) {
      INFO("status " << status << " x" << count);
      CHECK((status == 202 || status == 503));
    }
  }

  auto finals = poll_final(admin, accepted, 90000);
  CHECK(finals.size() == accepted.size());  // every accepted request became final
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  CHECK(server->stop() == 0);
  std::string db = dir.file("flash_sale.db");
  std::int64_t orders = sqlite_scalar(db, "SELECT COUNT(*) FROM orders");
  // A 503 whose admit call was cut by the kill may still have been admitted
  // (an unknown outcome, the reason to send X-Idempotency-Key): such a request
  // becomes an order too, never a lost one and never a second one per user.
  CHECK(orders >= static_cast<std::int64_t>(accepted.size()));
  CHECK(orders <= static_cast<std::int64_t>(accepted.size()) + 4);  // at most one cut call per buyer thread
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM (SELECT 1 FROM orders GROUP BY user_id HAVING COUNT(*) > 1)") == 0);
}

TEST_CASE("redis profile: each buy counts once against the rate limit, in the admit call or before a refusal",
          "[e2e][redis]") {
  RedisServer redis;
  TempDir dir;
  ServerProcess server(source_dir() + "/etc/redis.properties",
                       std::map<std::string, std::string>{{"REDIS_ADDR", redis.addr()},
                                                          {"DB_PATH", dir.file("flash_sale.db")},
                                                          {"PLUGIN_DIR", plugin_dir()},
                                                          {"BUY_RATE_LIMIT", "4"},
                                                          {"BUY_RATE_WINDOW_SEC", "60"}});
  HttpClient client(server.port());
  long long product = create_product(client, 100);
  preload(client, product);

  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 42)).status == 202);        // 1, fused
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 42)).status == 409);        // 2, fused
  CHECK(client.post("/api/flash_sale/buy", buy_body(product + 1000, 42)).status == 404);  // 3, on the stage
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 42, 0)).status == 400);     // 4, on the stage
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 42)).error_code() == "rate_limited");
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 42, 0)).error_code() == "rate_limited");
  CHECK(client.post("/api/flash_sale/buy", buy_body(product, 43)).status == 202);  // another user is not limited
  CHECK(server.stop() == 0);
}

TEST_CASE("redis profile: cancelled and expired orders give their stock back once and the buyers buy again",
          "[e2e][redis][orders]") {
  RedisServer redis;
  TempDir dir;
  auto server = std::make_unique<ServerProcess>(
      source_dir() + "/etc/redis.properties",
      std::map<std::string, std::string>{{"REDIS_ADDR", redis.addr()},
                                         {"DB_PATH", dir.file("flash_sale.db")},
                                         {"PLUGIN_DIR", plugin_dir()},
                                         {"ORDER_PAYMENT_TIMEOUT_SEC", "1"},
                                         {"ORDER_EXPIRY_SCAN_MS", "50"}});
  HttpClient client(server->port());
  long long product = create_product(client, 3);
  preload(client, product);
  long long cancelled = order_of(client, product, 1);
  long long expired = order_of(client, product, 2);
  long long paid = order_of(client, product, 3);
  REQUIRE(pay(client, paid, "p-3", 399900).status == 200);
  CHECK(remaining(client, product) == 0);

  HttpReply by_user = cancel(client, cancelled, 1);
  INFO(by_user.body);
  CHECK(by_user.status == 200);
  CHECK(stock_back(by_user));
  HttpReply by_deadline = await_stock_back(client, expired);
  INFO(by_deadline.body);
  CHECK(stock_back(by_deadline));
  CHECK(by_deadline.str("reason") == "payment_timeout");
  CHECK(remaining(client, product) == 2);

  // The Redis user locks are gone with the orders: both buy again.
  CHECK(order_of(client, product, 1) != cancelled);
  CHECK(order_of(client, product, 2) != expired);
  CHECK(remaining(client, product) == 0);
  HttpReply totals = reconcile(client, product);
  CHECK(totals.num("orders_paid") == 1);
  CHECK(totals.num("orders_cancelled") == 2);
  CHECK(totals.num("orders_awaiting_payment") == 2);
  CHECK(totals.json->getValue<bool>("reconciled"));
  CHECK(server->stop() == 0);
}

TEST_CASE("redis profile: /readyz names Redis while it is down and is ready again once it is back", "[e2e][redis]") {
  RedisServer redis;
  TempDir dir;
  auto server = redis_profile_server(redis, dir);
  HttpClient client(server->port());
  HttpReply ready = client.get("/readyz");
  INFO(ready.body);
  CHECK(ready.status == 200);
  CHECK(ready.json->getObject("backends")->getObject("redis")->getValue<bool>("ready"));
  CHECK(ready.json->getObject("backends")->getObject("sqlite")->getValue<std::string>("stages") == "persist");

  redis.kill();
  HttpReply down = client.get("/readyz");
  INFO(down.body);
  CHECK(down.status == 503);
  CHECK(down.error_code() == "not_ready");
  CHECK_THAT(down.json->getObject("error")->getValue<std::string>("message"), Catch::StartsWith("redis ("));
  CHECK_FALSE(down.json->getObject("backends")->getObject("redis")->getValue<bool>("ready"));
  CHECK(down.json->getObject("backends")->getObject("sqlite")->getValue<bool>("ready"));
  CHECK(client.get("/livez").status == 200);  // up, just not ready

  redis.start();
  HttpReply back = client.get("/readyz");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (back.status != 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    back = client.get("/readyz");
  }
  INFO(back.body);
  CHECK(back.status == 200);
  CHECK(server->stop() == 0);
}
