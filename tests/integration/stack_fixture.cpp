#include "integration/stack_fixture.h"

#include <catch2/catch.hpp>

#include "support/sqlite_file.h"

namespace flashsale::test {

Stack::Stack(Persist persist) : redis_(RedisServerOptions{true, {}}), broker_(1, "flash-sale-orders", 4) {
  if (persist == Persist::postgres) postgres_ = std::make_unique<PostgresServer>();
}

long long Stack::scalar(const std::string& sql) const {
  return postgres_ ? postgres_scalar(postgres_->dsn(), sql) : sqlite_scalar(db_path(), sql);
}

std::unique_ptr<ServerProcess> Stack::server(const std::string& roles, std::map<std::string, std::string> env) {
  env.emplace("ROLES", roles);
  env.emplace("REDIS_ADDR", redis_.addr());
  env.emplace("KAFKA_BROKERS", broker_.bootstrap());
  env.emplace("DB_PATH", db_path());
  if (postgres_) {
    env.emplace("STAGE_PERSIST", "postgres");
    env.emplace("POSTGRES_DSN", postgres_->dsn());
  }
  env.emplace("PLUGIN_DIR", plugin_dir());
  env.emplace("OUTBOX_CLAIM_IDLE_MS", "3000");
  env.emplace("KAFKA_DELIVERY_TIMEOUT_MS", "5000");
  env.emplace("KAFKA_CONSUMER_SESSION_TIMEOUT_MS", "6000");
  return std::make_unique<ServerProcess>(source_dir() + "/etc/flashsale.properties", env);
}

void check_sale(HttpClient& admin, const Stack& stack, long long product, const StampedeResult& run, long long stock) {
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
  CHECK(stack.scalar("SELECT COUNT(*) FROM orders" + where) == stock);
  CHECK(stack.scalar("SELECT COUNT(DISTINCT request_id) FROM orders" + where) == stock);
  CHECK(stack.scalar("SELECT COUNT(DISTINCT user_id) FROM orders" + where) == stock);
  HttpReply reconcile = admin.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  INFO(reconcile.body);
  CHECK(reconcile.num("admit_remaining") == 0);
  CHECK(reconcile.num("quantity_sold") == stock);
  CHECK(reconcile.json->getValue<bool>("reconciled"));
}

}  // namespace flashsale::test
