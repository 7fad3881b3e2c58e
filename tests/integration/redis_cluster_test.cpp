// The server on the redis profile (etc/redis.properties) against a real
// 3-master Redis Cluster (tests/support/redis_cluster.h): the stampede with
// idempotent retries and double clicks, exactly the stock sold, nobody twice,
// every accepted request final, and reconciliation exact.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "flashsale/clock.h"
#include "integration/sale_fixture.h"
#include "support/redis_cluster.h"
#include "support/sqlite_file.h"

using namespace flashsale::test;

namespace {

std::unique_ptr<ServerProcess> cluster_server(const RedisCluster& cluster, const TempDir& dir) {
  return std::make_unique<ServerProcess>(source_dir() + "/etc/redis.properties",
                                         std::map<std::string, std::string>{{"REDIS_ADDR", cluster.seeds()},
                                                                            {"REDIS_CLUSTER", "true"},
                                                                            {"DB_PATH", dir.file("flash_sale.db")},
                                                                            {"PLUGIN_DIR", plugin_dir()},
                                                                            {"OUTBOX_CLAIM_IDLE_MS", "2000"}});
}

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

// A buyer: the buy with an idempotency key, resent while the answer is 503
// (an unknown outcome) and once more after a 202 (a retry after a lost
// answer), then a second click with a new key.
void buy_like_a_person(HttpClient& client, long long product, long long user, Crowd& crowd) {
  std::map<std::string, std::string> key = {{"X-Idempotency-Key", "user-" + std::to_string(user)}};
  HttpReply reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    reply = client.post("/api/flash_sale/buy", buy_body(product, user), key);
  } while (reply.status == 503 && std::chrono::steady_clock::now() < deadline);
  if (reply.status != 202) {
    std::lock_guard lock(crowd.mutex);
    crowd.refused[std::to_string(reply.status) + " " + reply.error_code()]++;
    return;
  }
  std::string id = reply.str("request_id");
  HttpReply again = client.post("/api/flash_sale/buy", buy_body(product, user), key);
  if (again.status != 202 || again.str("request_id") != id) ++crowd.replay_mismatches;
  HttpReply second = client.post("/api/flash_sale/buy", buy_body(product, user),
                                 {{"X-Idempotency-Key", "second-" + std::to_string(user)}});
  if (second.status == 202) ++crowd.double_sales;
  std::lock_guard lock(crowd.mutex);
  crowd.accepted.insert(id);
  crowd.bought[user] = id;
}

void stampede_on_cluster(int shards) {
  RedisCluster cluster;
  TempDir dir;
  auto server = cluster_server(cluster, dir);
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
  CHECK(server->stop() == 0);
}

}  // namespace

TEST_CASE("redis cluster: 5,000 buyers with retries and double clicks on stock 500 make exactly 500 orders",
          "[e2e][redis][cluster]") {
  stampede_on_cluster(1);
}

TEST_CASE("redis cluster: one hot product over 3 stock shards sells exactly 500 to 5,000 buyers with retries",
          "[e2e][redis][cluster][shards]") {
  stampede_on_cluster(3);
}
