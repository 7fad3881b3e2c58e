#include "integration/stack_fixture.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "support/sqlite_file.h"

namespace flashsale::test {

Stack::Stack() : redis_(RedisServerOptions{true, {}}), broker_(1, "flash-sale-orders", 4) {}

std::unique_ptr<ServerProcess> Stack::server(const std::string& roles, std::map<std::string, std::string> env) {
  env.emplace("ROLES", roles);
  env.emplace("REDIS_ADDR", redis_.addr());
  env.emplace("KAFKA_BROKERS", broker_.bootstrap());
  env.emplace("DB_PATH", db_path());
  env.emplace("PLUGIN_DIR", plugin_dir());
  env.emplace("OUTBOX_CLAIM_IDLE_MS", "3000");
  env.emplace("KAFKA_DELIVERY_TIMEOUT_MS", "5000");
  env.emplace("KAFKA_CONSUMER_SESSION_TIMEOUT_MS", "6000");
  return std::make_unique<ServerProcess>(source_dir() + "/etc/flashsale.properties", env);
}

StampedeResult stampede(int port, long long product, int users, int threads, long long first_user) {
  StampedeResult result;
  std::mutex mutex;
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      HttpClient client(port);
      for (int i = next++; i < users; i = next++) {
        HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, first_user + i));
        std::lock_guard lock(mutex);
        if (reply.status == 202)
          result.accepted.push_back(reply.str("request_id"));
        else
          result.rejected[std::to_string(reply.status) + " " + reply.error_code()]++;
      }
    });
  }
  for (auto& thread : pool) thread.join();
  return result;
}

void check_sale(HttpClient& admin, const std::string& db, long long product, const StampedeResult& run,
                long long stock) {
  auto finals = poll_final(admin, run.accepted, 120000);
  REQUIRE(finals.size() == run.accepted.size());  // every accepted request became final
  long long success = 0;
  for (const auto& [id, reply] : finals) {
    if (reply.str("status") == "success")
      ++success;
    else
      CHECK_FALSE(reply.str("reason").empty());
  }
  CHECK(success == stock);
  std::string where = " WHERE product_id = " + std::to_string(product);
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM orders" + where) == stock);
  CHECK(sqlite_scalar(db, "SELECT COUNT(DISTINCT request_id) FROM orders" + where) == stock);
  CHECK(sqlite_scalar(db, "SELECT COUNT(DISTINCT user_id) FROM orders" + where) == stock);
  HttpReply reconcile = admin.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  INFO(reconcile.body);
  CHECK(reconcile.num("admit_remaining") == 0);
  CHECK(reconcile.num("quantity_sold") == stock);
  CHECK(reconcile.json->getValue<bool>("reconciled"));
}

}  // namespace flashsale::test
