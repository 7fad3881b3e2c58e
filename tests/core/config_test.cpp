#include <catch2/catch.hpp>

#include <fstream>

#include "host/config.h"
#include "host/startup_error.h"
#include "support/temp_dir.h"

using flashsale::Config;
using flashsale::load_config;
using flashsale::StageKind;
using flashsale::StartupError;
using flashsale::test::TempDir;

namespace {

struct Env {
  std::vector<std::string> storage;
  std::vector<char*> pointers;
  Env(std::initializer_list<std::string> vars) : storage(vars) {
    for (auto& s : storage) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
  char** get() { return pointers.data(); }
};

std::string write(const TempDir& dir, const std::string& text) {
  std::string path = dir.file("test.properties");
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("defaults match the documented contract", "[config]") {
  Env env{};
  Config config = load_config("", env.get(), "/opt/fs/bin", nullptr);
  CHECK(config.http_host.empty());
  CHECK(config.http_port == 8080);
  CHECK(config.settings.get("db.path") == "flash_sale.db");
  CHECK(config.settings.get("redis.addr") == "localhost:6379");
  CHECK(config.settings.get("kafka.brokers") == "localhost:9092");
  CHECK(config.settings.get("kafka.topic") == "flash-sale-orders");
  CHECK(config.settings.get("kafka.group.id") == "flash-sale-order-consumer");
  CHECK(config.settings.get("order.event.stream") == "flash_sale:order_events");
  CHECK(config.settings.get("order.event.group") == "flash-sale-relay-group");
  CHECK(config.settings.get("order.event.consumer") == "flash-sale-relay-1");
  CHECK(config.settings.get("buy.rate.limit") == "1000");
  CHECK(config.settings.get("buy.rate.window.sec") == "1");
  CHECK(config.settings.get("stock.cache.ttl.hour") == "24");
  CHECK(config.settings.get("worker.batch.size") == "256");
  CHECK(config.settings.get("worker.linger.ms") == "2");
  CHECK(config.admin_token == "dev-admin-token");
  CHECK(config.plugin_dir == "/opt/fs/bin/../plugins");
  CHECK(config.backend(StageKind::admit) == "redis");
  CHECK(config.backend(StageKind::relay) == "kafka");
  CHECK(config.backend(StageKind::persist) == "sqlite");
}

TEST_CASE("environment variables override the file", "[config]") {
  TempDir dir;
  std::string file = write(dir, "# comment\nhttp.addr = 127.0.0.1:9000\nredis.addr = file:1\nstage.admit = memory\n");
  Env env{"REDIS_ADDR=env:2", "PRELOAD_ADMIN_TOKEN=secret", "KAFKA_GROUP_ID=g2", "STAGE_ADMIT=other"};
  Config config = load_config(file, env.get(), ".", nullptr);
  CHECK(config.http_host == "127.0.0.1");
  CHECK(config.http_port == 9000);
  CHECK(config.settings.get("redis.addr") == "env:2");
  CHECK(config.admin_token == "secret");
  CHECK(config.settings.get("kafka.group.id") == "g2");
  CHECK(config.backend(StageKind::admit) == "other");
}

TEST_CASE("an invalid value stops start-up naming the key", "[config]") {
  struct Case {
    std::string var, key;
  };
  for (const Case& c :
       {Case{"HTTP_ADDR=nonsense", "http.addr (HTTP_ADDR)"}, Case{"HTTP_ADDR=:99999", "http.addr (HTTP_ADDR)"},
        Case{"BUY_RATE_LIMIT=lots", "buy.rate.limit (BUY_RATE_LIMIT)"},
        Case{"BUY_RATE_LIMIT=0", "buy.rate.limit (BUY_RATE_LIMIT)"},
        Case{"BUY_RATE_WINDOW_SEC=-1", "buy.rate.window.sec (BUY_RATE_WINDOW_SEC)"},
        Case{"STOCK_CACHE_TTL_HOUR=1h", "stock.cache.ttl.hour (STOCK_CACHE_TTL_HOUR)"},
        Case{"REDIS_DB=x", "redis.db (REDIS_DB)"}, Case{"WORKER_LINGER_MS=-1", "worker.linger.ms (WORKER_LINGER_MS)"},
        Case{"WORKER_LINGER_MS=5000", "worker.linger.ms (WORKER_LINGER_MS)"},
        Case{"PRELOAD_ADMIN_TOKEN=", "preload.admin.token (PRELOAD_ADMIN_TOKEN)"},
        Case{"DB_PATH=", "db.path (DB_PATH)"}, Case{"ROLES=api,cook", "roles (ROLES)"},
        Case{"STAGE_PERSIST=", "stage.persist (STAGE_PERSIST)"}}) {
    INFO(c.var);
    Env env{c.var};
    try {
      load_config("", env.get(), ".", nullptr);
      FAIL("accepted " << c.var);
    } catch (const StartupError& e) {
      CHECK_THAT(e.what(), Catch::StartsWith(c.key));
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("config file problems name the file", "[config]") {
  TempDir dir;
  Env env{};
  CHECK_THROWS_WITH(load_config(dir.file("absent.properties"), env.get(), ".", nullptr),
                    Catch::Contains("absent.properties") && Catch::Contains("cannot be read"));
  std::string file = write(dir, "http.addr = :1\njust words\n");
  CHECK_THROWS_WITH(load_config(file, env.get(), ".", nullptr), Catch::Contains("test.properties:2"));
}

TEST_CASE("unknown keys are passed on with a warning", "[config]") {
  TempDir dir;
  Env env{};
  std::vector<std::string> warnings;
  Config config = load_config(write(dir, "redis.adr = typo\n"), env.get(), ".", &warnings);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("redis.adr"));
  CHECK(config.settings.get("redis.adr") == "typo");
}

TEST_CASE("roles select what a process runs", "[config]") {
  Env env{"ROLES=relay, consumer"};
  Config config = load_config("", env.get(), ".", nullptr);
  CHECK_FALSE(config.role_api);
  CHECK(config.role_relay);
  CHECK(config.role_consumer);
}

TEST_CASE("PLUGIN_<FAMILY>_PATH names an out-of-tree plugin", "[config]") {
  Env env{"PLUGIN_MINE_PATH=/opt/mine/flashsale-mine.so", "STAGE_RELAY=mine"};
  Config config = load_config("", env.get(), ".", nullptr);
  CHECK(config.settings.get("plugin.mine.path") == "/opt/mine/flashsale-mine.so");
  CHECK(config.backend(StageKind::relay) == "mine");
}

TEST_CASE("KAFKA_CONSUMER_* and KAFKA_PRODUCER_* pass librdkafka properties through", "[config]") {
  Env env{"KAFKA_CONSUMER_SESSION_TIMEOUT_MS=6000", "KAFKA_PRODUCER_LINGER_MS=1"};
  Config config = load_config("", env.get(), ".", nullptr);
  CHECK(config.settings.get("kafka.consumer.session.timeout.ms") == "6000");
  CHECK(config.settings.get("kafka.producer.linger.ms") == "1");
}
