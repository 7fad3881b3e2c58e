// The server on the redis profile (etc/redis.properties) against a real
// 3-master Redis Cluster (tests/support/redis_cluster.h): the stampede with
// idempotent retries and double clicks, with one stock shard and with three,
// with the product's master killed mid-sale (replicas, WAIT on) and with its
// slot migrated mid-sale: each time exactly the stock sold, nobody twice,
// every accepted request final, and reconciliation exact.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "flashsale/clock.h"
#include "integration/sale_fixture.h"
#include "support/redis_cluster.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

namespace {

long long create_sharded_product(HttpClient& client, long long stock, int shards) {
  flashsale::UnixMillis now = flashsale::now_ms();
  std::string body = R"({"name":"hot item","stock":)" + std::to_string(stock) +
                     R"(,"sale_price":399900,"stock_shards":)" + std::to_string(shards) + R"(,"start_time":")" +
                     flashsale::format_rfc3339(now - 3600000) + R"(","end_time":")" +
                     flashsale::format_rfc3339(now + 86400000) + R"("})";
  HttpReply reply = client.post("/api/products", body, kAdmin);
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  return reply.num("id");
}

struct Crowd {
  std::mutex mutex;
  std::set<std::string> accepted;             // request ids answered 202
  std::map<long long, std::string> bought;    // user → the request id they were given
  std::map<std::string, int> refused;         // "409 sold_out" → count
  std::atomic<int> replay_mismatches{0};      // a resend with the same key got another id
  std::atomic<int> double_sales{0};           // a user's second click was accepted
};

// POSTs a buy, resending while the answer is 503 (an unknown outcome), with
// a client's back-off between resends, for up to a minute.
HttpReply buy_until_definite(HttpClient& client, long long product, long long user,
                             const std::map<std::string, std::string>& headers) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, user), headers);
    if (reply.status != 503 || std::chrono::steady_clock::now() > deadline) return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// A buyer: the buy with an idempotency key (resent while the answer is
// unknown), resent once more after a 202 (a retry after a lost answer), then
// a second click with a new key.
void buy_like_a_person(HttpClient& client, long long product, long long user, Crowd& crowd) {
  std::map<std::string, std::string> key = {{"X-Idempotency-Key", "user-" + std::to_string(user)}};
  HttpReply reply = buy_until_definite(client, product, user, key);
  if (reply.status != 202) {
    std::lock_guard lock(crowd.mutex);
    crowd.refused[std::to_string(reply.status) + " " + reply.error_code()]++;
    return;
  }
  std::string id = reply.str("request_id");
  HttpReply again = buy_until_definite(client, product, user, key);
  if (again.status != 202 || again.str("request_id") != id) ++crowd.replay_mismatches;
  HttpReply second =
      buy_until_definite(client, product, user, {{"X-Idempotency-Key", "second-" + std::to_string(user)}});
  if (second.status == 202) ++crowd.double_sales;
  std::lock_guard lock(crowd.mutex);
  crowd.accepted.insert(id);
  crowd.bought[user] = id;
}

// What happens to the cluster once 100 units are sold, while buyers go on.
using MidRun = std::function<void(RedisCluster& cluster, int product_slot)>;

// 5,000 buyers on stock 500 of one product with `shards` stock shards, on a
// cluster with `options`, the server given `env` besides: exactly 500
// orders, nobody twice, every accepted request `success`, reconciliation
// exact.
void sale_on_cluster(int shards, RedisClusterOptions options = {}, std::map<std::string, std::string> env = {},
                     const MidRun& mid_run = nullptr) {
  RedisCluster cluster(options);
  TempDir dir;
  env.emplace("REDIS_ADDR", cluster.seeds());
  env.emplace("REDIS_CLUSTER", "true");
  env.emplace("DB_PATH", dir.file("flash_sale.db"));
  env.emplace("PLUGIN_DIR", plugin_dir());
  env.emplace("OUTBOX_CLAIM_IDLE_MS", "2000");
  auto server = std::make_unique<ServerProcess>(source_dir() + "/etc/redis.properties", env);
  HttpClient admin(server->port());
  const long long stock = 500;
  const int users = 5000;
  long long product = create_sharded_product(admin, stock, shards);
  preload(admin, product);
  HttpReply shown = admin.get("/api/products/" + std::to_string(product));
  INFO(shown.body);
  if (shards > 1) {
    auto by_shard = shown.json->getArray("remaining_by_shard");
    REQUIRE(by_shard);
    REQUIRE(by_shard->size() == static_cast<std::size_t>(shards));
    long long split = 0;
    for (std::size_t i = 0; i < by_shard->size(); ++i) split += by_shard->getElement<long long>(i);
    CHECK(split == stock);
  }

  Crowd crowd;
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&] {
      HttpClient client(server->port());
      for (int i = next++; i < users; i = next++) buy_like_a_person(client, product, 100000 + i, crowd);
    });
  }
  if (mid_run) {
    auto sold = [&] {
      std::lock_guard lock(crowd.mutex);
      return crowd.accepted.size();
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (sold() < 100 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    mid_run(cluster, key_slot("{p:" + std::to_string(product) + "}"));
  }
  for (auto& thread : threads) thread.join();

  CHECK(crowd.replay_mismatches == 0);
  CHECK(crowd.double_sales == 0);
  REQUIRE(crowd.accepted.size() == static_cast<std::size_t>(stock));
  CHECK(crowd.refused == std::map<std::string, int>{{"409 sold_out", users - static_cast<int>(stock)}});

  std::vector<std::string> ids(crowd.accepted.begin(), crowd.accepted.end());
  auto finals = poll_final(admin, ids);
  REQUIRE(finals.size() == ids.size());
  for (const auto& [id, reply] : finals) CHECK(reply.str("status") == "success");
  std::string db = dir.file("flash_sale.db");
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM orders") == stock);
  CHECK(sqlite_scalar(db,
                      "SELECT COUNT(*) FROM (SELECT 1 FROM orders GROUP BY user_id, product_id "
                      "HAVING COUNT(*) > 1)") == 0);
  HttpReply reconciled = reconcile(admin, product);
  INFO(reconciled.body);
  CHECK(reconciled.num("admit_remaining") == 0);
  CHECK(reconciled.json->getValue<bool>("reconciled"));
  if (shards > 1) {
    auto by_shard = reconciled.json->getArray("admit_remaining_by_shard");
    REQUIRE(by_shard);
    REQUIRE(by_shard->size() == static_cast<std::size_t>(shards));
    for (std::size_t i = 0; i < by_shard->size(); ++i) CHECK(by_shard->getElement<long long>(i) == 0);
  } else {
    CHECK_FALSE(reconciled.json->has("admit_remaining_by_shard"));
  }
  CHECK(server->stop() == 0);
}

}  // namespace

TEST_CASE("redis cluster: 5,000 buyers with retries and double clicks on stock 500 make exactly 500 orders",
          "[e2e][redis][cluster]") {
  sale_on_cluster(1);
}

TEST_CASE("redis cluster: one hot product over 3 stock shards sells exactly 500 to 5,000 buyers with retries",
          "[e2e][redis][cluster][shards]") {
  sale_on_cluster(3);
}

TEST_CASE("redis cluster: the hot product's master killed mid-sale with WAIT on loses no acknowledged buy",
          "[e2e][redis][cluster][failover]") {
  sale_on_cluster(1, RedisClusterOptions{3, 1, false, 1000}, {{"REDIS_WAIT_REPLICAS", "1"}},
                  [](RedisCluster& cluster, int slot) {
                    std::size_t master = cluster.master_for_slot(slot);
                    cluster.kill_node(master);
                    cluster.wait_for_failover(master);
                    cluster.restart_node(master);  // back as the promoted master's replica: WAIT confirms again
                  });
}

TEST_CASE("redis cluster: the hot product's slot migrated mid-sale sells exactly the stock",
          "[e2e][redis][cluster][migration]") {
  sale_on_cluster(1, {}, {}, [](RedisCluster& cluster, int slot) {
    std::size_t from = cluster.master_for_slot(slot);
    std::size_t to = from;
    for (std::size_t master : cluster.masters()) {
      if (master != from) to = master;
    }
    cluster.begin_migration(slot, from, to);
    while (cluster.migrate_keys(slot, from, to, 10) > 0) {
    }
    cluster.finish_migration(slot, to);
  });
}

TEST_CASE("redis cluster: an outbox dead letter of a product's stream is listed and replayed through the admin routes",
          "[e2e][redis][cluster]") {
  RedisCluster cluster;
  TempDir dir;
  ServerProcess server(source_dir() + "/etc/redis.properties",
                       {{"REDIS_ADDR", cluster.seeds()},
                        {"DB_PATH", dir.file("flash_sale.db")},
                        {"PLUGIN_DIR", plugin_dir()}});
  HttpClient admin(server.port());
  long long product = create_sharded_product(admin, 10, 1);
  preload(admin, product);
  // An entry the reader cannot decode, appended behind the server's back.
  std::string stream = "flash_sale:order_events{p:" + std::to_string(product) + "}";
  std::size_t node = cluster.master_for_slot(key_slot(stream));
  REQUIRE_FALSE(cluster.command(node, {"XADD", stream, "*", "junk", "1"}).is_error());

  std::string id;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (id.empty() && std::chrono::steady_clock::now() < deadline) {
    HttpReply page = admin.get("/api/admin/dead-letters?source=outbox&limit=10", kAdmin);
    REQUIRE(page.status == 200);
    auto letters = page.json->getArray("dead_letters");
    if (letters->size() > 0) id = letters->getObject(0)->getValue<std::string>("id");
    if (id.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(id);
  REQUIRE(id.rfind("p:" + std::to_string(product) + ".", 0) == 0);
  HttpReply one = admin.get("/api/admin/dead-letters/" + id + "?source=outbox", kAdmin);
  INFO(one.body);
  CHECK(one.status == 200);
  HttpReply replayed = admin.post("/api/admin/dead-letters/" + id + "/replay?source=outbox", "", kAdmin);
  INFO(replayed.body);
  CHECK(replayed.status == 200);
  CHECK(admin.get("/api/admin/dead-letters/" + id + "?source=outbox", kAdmin).status == 404);
  CHECK(server.stop() == 0);
}
