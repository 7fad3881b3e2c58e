#include <catch2/catch.hpp>

#include <filesystem>
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
  Config config = load_config("", env.get(), "/opt/fs/bin");
  CHECK(config.http_host.empty());
  CHECK(config.http_port == 8080);
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
  std::string file = write(dir, "# comment\nhttp.addr = 127.0.0.1:9000\nbuy.rate.limit = 10\nstage.admit = memory\n");
  Env env{"BUY_RATE_LIMIT=20", "PRELOAD_ADMIN_TOKEN=secret", "STAGE_ADMIT=other"};
  Config config = load_config(file, env.get(), ".");
  CHECK(config.http_host == "127.0.0.1");
  CHECK(config.http_port == 9000);
  CHECK(config.settings.get("buy.rate.limit") == "20");
  CHECK(config.admin_token == "secret");
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
Case{"WORKER_LINGER_MS=-1", "worker.linger.ms (WORKER_LINGER_MS)"},
        Case{"WORKER_LINGER_MS=5000", "worker.linger.ms (WORKER_LINGER_MS)"},
        Case{"PRELOAD_ADMIN_TOKEN=", "preload.admin.token (PRELOAD_ADMIN_TOKEN)"},
Case{"ROLES=api,cook", "roles (ROLES)"},
        Case{"STAGE_PERSIST=", "stage.persist (STAGE_PERSIST)"},
        Case{"ORDER_PAYMENT_TIMEOUT_SEC=0", "order.payment.timeout.sec (ORDER_PAYMENT_TIMEOUT_SEC)"},
        Case{"ORDER_PAYMENT_TIMEOUT_SEC=15m", "order.payment.timeout.sec (ORDER_PAYMENT_TIMEOUT_SEC)"},
        Case{"ORDER_EXPIRY_SCAN_MS=1", "order.expiry.scan.ms (ORDER_EXPIRY_SCAN_MS)"},
        Case{"FAULT_CRASH_BEFORE_STOCK_RETURN=-1",
             "fault.crash.before.stock.return (FAULT_CRASH_BEFORE_STOCK_RETURN)"}}) {
    INFO(c.var);
    Env env{c.var};
    try {
      load_config("", env.get(), ".");
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
  CHECK_THROWS_WITH(load_config(dir.file("absent.properties"), env.get(), "."),
                    Catch::Contains("absent.properties") && Catch::Contains("cannot be read"));
  std::string file = write(dir, "http.addr = :1\njust words\n");
  CHECK_THROWS_WITH(load_config(file, env.get(), "."), Catch::Contains("test.properties:2"));
}

TEST_CASE("keys core does not read are kept for the plugins", "[config]") {
  TempDir dir;
  Env env{};
  Config config = load_config(write(dir, "redis.adr = typo\n"), env.get(), ".");
  CHECK(config.settings.get("redis.adr") == "typo");
  CHECK(config.file_keys.count("redis.adr") == 1);
}

TEST_CASE("roles select what a process runs", "[config]") {
  Env env{"ROLES=relay, consumer"};
  Config config = load_config("", env.get(), ".");
  CHECK_FALSE(config.role_api);
  CHECK(config.role_relay);
  CHECK(config.role_consumer);
  CHECK(config.role_expirer);  // the consumer role runs the expiry worker too

  Env alone{"ROLES=expirer"};
  config = load_config("", alone.get(), ".");
  CHECK(config.role_expirer);
  CHECK_FALSE(config.role_api);
  CHECK_FALSE(config.role_relay);
  CHECK_FALSE(config.role_consumer);
}

TEST_CASE("the order lifecycle's settings", "[config]") {
  Env defaults{};
  Config config = load_config("", defaults.get(), ".");
  CHECK(config.payment_timeout == std::chrono::seconds(900));
  CHECK(config.expiry_scan_interval == std::chrono::milliseconds(1000));
  CHECK(config.payment_webhook_secret.empty());

  Env set{"ORDER_PAYMENT_TIMEOUT_SEC=60", "ORDER_EXPIRY_SCAN_MS=250", "PAYMENT_WEBHOOK_SECRET=whsec_1"};
  config = load_config("", set.get(), ".");
  CHECK(config.payment_timeout == std::chrono::seconds(60));
  CHECK(config.expiry_scan_interval == std::chrono::milliseconds(250));
  CHECK(config.payment_webhook_secret == "whsec_1");
}

TEST_CASE("PLUGIN_<FAMILY>_PATH names an out-of-tree plugin", "[config]") {
  Env env{"PLUGIN_MINE_PATH=/opt/mine/flashsale-mine.so", "STAGE_RELAY=mine"};
  Config config = load_config("", env.get(), ".");
  CHECK(config.settings.get("plugin.mine.path") == "/opt/mine/flashsale-mine.so");
  CHECK(config.backend(StageKind::relay) == "mine");
}

TEST_CASE("the HTTP front's limits have their documented defaults and variables", "[config]") {
  Env defaults{};
  Config config = load_config("", defaults.get(), "/opt/fs/bin");
  const flashsale::HttpLimits& limits = config.http.limits;
  CHECK(config.http.io_threads >= 1);  // 0 means one per core
  CHECK(config.http.handler_threads == 32);
  CHECK(limits.handler_queue == 4096);
  CHECK(limits.max_connections == 20000);
  CHECK(limits.max_connections_per_ip == 256);
  CHECK(limits.parser.max_body_bytes == 16384);
  CHECK(limits.parser.max_header_bytes == 16384);
  CHECK(limits.parser.max_request_line == 8192);
  CHECK(limits.parser.max_headers == 64);
  CHECK(limits.max_pipelined == 16);
  CHECK(limits.header_timeout == std::chrono::milliseconds(5000));
  CHECK(limits.body_timeout == std::chrono::milliseconds(10000));
  CHECK(limits.idle_timeout == std::chrono::milliseconds(60000));
  CHECK(limits.write_timeout == std::chrono::milliseconds(10000));
  CHECK(config.drain_timeout == std::chrono::milliseconds(10000));
  CHECK(config.http.trusted_proxies.empty());
  CHECK(config.admin_failures_per_second == 10);

  Env env{"HTTP_IO_THREADS=3",
          "HTTP_THREADS=0",
          "HTTP_HANDLER_QUEUE=7",
          "HTTP_MAX_CONNECTIONS=100",
          "HTTP_MAX_CONNECTIONS_PER_IP=9",
          "HTTP_MAX_BODY_BYTES=1000",
          "HTTP_MAX_HEADER_BYTES=2000",
          "HTTP_MAX_REQUEST_LINE_BYTES=300",
          "HTTP_MAX_HEADERS=5",
          "HTTP_MAX_PIPELINED=2",
          "HTTP_HEADER_TIMEOUT_MS=11",
          "HTTP_BODY_TIMEOUT_MS=12",
          "HTTP_IDLE_TIMEOUT_MS=13",
          "HTTP_WRITE_TIMEOUT_MS=14",
          "HTTP_DRAIN_TIMEOUT_MS=15",
          "HTTP_TRUSTED_PROXIES=10.0.0.0/8",
          "ADMIN_AUTH_FAILURES_PER_SEC=4"};
  config = load_config("", env.get(), "/opt/fs/bin");
  CHECK(config.http.io_threads == 3);
  CHECK(config.http.handler_threads == 0);
  CHECK(config.http.limits.handler_queue == 7);
  CHECK(config.http.limits.max_connections == 100);
  CHECK(config.http.limits.max_connections_per_ip == 9);
  CHECK(config.http.limits.parser.max_body_bytes == 1000);
  CHECK(config.http.limits.parser.max_header_bytes == 2000);
  CHECK(config.http.limits.parser.max_request_line == 300);
  CHECK(config.http.limits.parser.max_headers == 5);
  CHECK(config.http.limits.max_pipelined == 2);
  CHECK(config.http.limits.header_timeout == std::chrono::milliseconds(11));
  CHECK(config.http.limits.body_timeout == std::chrono::milliseconds(12));
  CHECK(config.http.limits.idle_timeout == std::chrono::milliseconds(13));
  CHECK(config.http.limits.write_timeout == std::chrono::milliseconds(14));
  CHECK(config.drain_timeout == std::chrono::milliseconds(15));
  CHECK_FALSE(config.http.trusted_proxies.empty());
  CHECK(config.admin_failures_per_second == 4);
}

TEST_CASE("a bad HTTP limit stops start-up naming its key", "[config]") {
  auto error_of = [](const std::string& var) {
    Env env{var};
    try {
      load_config("", env.get(), "/opt/fs/bin");
    } catch (const StartupError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error_of("HTTP_MAX_CONNECTIONS=0"), Catch::StartsWith("http.max.connections (HTTP_MAX_CONNECTIONS)"));
  CHECK_THAT(error_of("HTTP_HEADER_TIMEOUT_MS=soon"),
             Catch::StartsWith("http.header.timeout.ms (HTTP_HEADER_TIMEOUT_MS)"));
  CHECK_THAT(error_of("HTTP_MAX_HEADER_BYTES=70000"),
             Catch::StartsWith("http.max.header.bytes (HTTP_MAX_HEADER_BYTES)"));
  CHECK_THAT(error_of("HTTP_TRUSTED_PROXIES=10.0.0.0/40"),
             Catch::StartsWith("http.trusted.proxies (HTTP_TRUSTED_PROXIES)") && Catch::Contains("10.0.0.0/40"));
}

TEST_CASE("relative plugin paths in the file are beside the file and in the environment beside the process",
          "[config]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("etc"));
  std::string file = dir.file("etc/server.properties");
  std::ofstream(file) << "plugin.dir = plugins::../shared:/opt/fs/plugins\n"
                         "plugin.mine.path = lib/flashsale-mine.so\n"
                         "plugin.other.path = /opt/other/flashsale-other.so\n";
  Env none{};
  Config config = load_config(file, none.get(), "/opt/fs/bin");
  CHECK(config.plugin_dir == dir.file("etc/plugins") + ":" + dir.file("shared") + ":/opt/fs/plugins");
  CHECK(config.settings.get("plugin.mine.path") == dir.file("etc/lib/flashsale-mine.so"));
  CHECK(config.settings.get("plugin.other.path") == "/opt/other/flashsale-other.so");

  Env env{"PLUGIN_DIR=plugins:more", "PLUGIN_MINE_PATH=lib/flashsale-mine.so"};
  config = load_config(file, env.get(), "/opt/fs/bin");
  CHECK(config.plugin_dir == "plugins:more");
  CHECK(config.settings.get("plugin.mine.path") == "lib/flashsale-mine.so");
}
