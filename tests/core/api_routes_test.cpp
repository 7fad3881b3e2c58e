// The API's handlers through its route table, with no socket: every stage
// from the memory family, loaded through the real plugin host.
#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/api_harness.h"
#include "flashsale/plugin.h"
#include "pipeline/catalog.h"
#include "support/stage_fakes.h"

namespace flashsale {

namespace {

using test::Api;
using test::Headers;
using test::kAdmin;
using test::kToken;

void check_error(const HttpResponse& response, int status, const std::string& code) {
  INFO(response.body);
  CHECK(response.status == status);
  CHECK_THAT(response.body, Catch::StartsWith("{\"error\":") && Catch::Contains("\"code\":\"" + code + "\""));
}

std::string buy_body(std::int64_t product, std::int64_t user) {
  return R"({"product_id":)" + std::to_string(product) + R"(,"user_id":)" + std::to_string(user) + R"(,"quantity":1})";
}

// A product on sale now with `stock_shards` as given (JSON text; empty: left out).
std::string product_body(const std::string& stock_shards) {
  return R"({"name":"hot","stock":9,"sale_price":100,"start_time":"2020-01-01T00:00:00Z",)"
         R"("end_time":"2099-01-01T00:00:00Z")" +
         (stock_shards.empty() ? "" : R"(,"stock_shards":)" + stock_shards) + "}";
}

// An admit stage that shards: it splits the sellable stock over the shards
// load_stock is given, the first ones taking the remainder.
class ShardingAdmission : public test::AdmissionFake {
 public:
  Status load_stock(const SaleStock& stock) noexcept override {
    loaded = stock;
    preloaded = true;
    return Status::ok();
  }
  Status stock(ProductId, StockLevel* level) noexcept override {
    *level = StockLevel{};
    level->preloaded = preloaded;
    if (!preloaded) return Status::ok();
    level->remaining = loaded.sellable;
    for (std::int32_t shard = 0; shard < loaded.shards; ++shard) {
      level->shards.push_back(loaded.sellable / loaded.shards + (shard < loaded.sellable % loaded.shards ? 1 : 0));
    }
    return Status::ok();
  }

  SaleStock loaded = {};
  bool preloaded = false;
};

}  // namespace

TEST_CASE("a product is created by an admin then preloaded and bought and reconciled", "[routes]") {
  Api api;
  const std::string body = R"({"name":"phone","stock":5,"sale_price":100,"start_time":"2020-01-01T00:00:00Z",)"
                           R"("end_time":"2099-01-01T00:00:00Z"})";
  check_error(api.call("POST", "/api/products", body), 401, "unauthorized");
  check_error(api.call("POST", "/api/products", body, {{"X-Admin-Token", kToken + "!"}}), 401, "unauthorized");
  check_error(api.call("POST", "/api/products", R"({"name":"phone"})", kAdmin), 400, "invalid_request");
  HttpResponse created = api.call("POST", "/api/products", body, kAdmin);
  REQUIRE(created.status == 201);
  CHECK(created.content_type == std::string("application/json"));
  const std::int64_t id = Api::integer_field(created.body, "id");
  CHECK(id > 0);
  CHECK(Api::string_field(created.body, "start_time") == "2020-01-01T00:00:00Z");
  const std::string product = std::to_string(id);

  HttpResponse before = api.call("GET", "/api/products/" + product);
  CHECK(before.status == 200);
  CHECK_THAT(before.body, Catch::Contains("\"preloaded\":false") && Catch::Contains("\"remaining\":null"));
  check_error(api.call("POST", "/api/flash_sale/buy", buy_body(id, 1)), 409, "not_preloaded");

  check_error(api.call("POST", "/api/flash_sale/preload/" + product), 401, "unauthorized");
  HttpResponse preloaded = api.call("POST", "/api/flash_sale/preload/" + product, "", kAdmin);
  CHECK(preloaded.status == 200);
  CHECK(preloaded.body == R"({"product_id":)" + product + R"(,"remaining":5})");
  check_error(api.call("POST", "/api/flash_sale/preload/999", "", kAdmin), 404, "not_found");
  check_error(api.call("POST", "/api/flash_sale/preload/x", "", kAdmin), 404, "not_found");

  HttpResponse bought = api.call("POST", "/api/flash_sale/buy", buy_body(id, 7), {{"X-Idempotency-Key", "k-1"}});
  REQUIRE(bought.status == 202);
  const std::string request_id = Api::string_field(bought.body, "request_id");
  CHECK(request_id.size() == 36);
  CHECK(Api::string_field(bought.body, "status") == "pending");
  CHECK(bought.body.find("replayed") == std::string::npos);

  HttpResponse replay = api.call("POST", "/api/flash_sale/buy", buy_body(id, 7), {{"X-Idempotency-Key", "k-1"}});
  CHECK(replay.status == 202);
  CHECK(Api::string_field(replay.body, "request_id") == request_id);
  CHECK_THAT(replay.body, Catch::Contains("\"replayed\":true"));
  check_error(api.call("POST", "/api/flash_sale/buy", buy_body(id, 8), {{"X-Idempotency-Key", "k-1"}}), 422,
              "idempotency_key_reused");
  check_error(api.call("POST", "/api/flash_sale/buy", buy_body(id, 7)), 409, "already_purchased");

  HttpResponse after = api.call("GET", "/api/products/" + product);
  CHECK_THAT(after.body, Catch::Contains("\"preloaded\":true") && Catch::Contains("\"remaining\":4"));

  check_error(api.call("GET", "/api/admin/reconcile/" + product), 401, "unauthorized");
  HttpResponse reconciled = api.call("GET", "/api/admin/reconcile/" + product, "", kAdmin);
  CHECK(reconciled.status == 200);
  CHECK(Api::integer_field(reconciled.body, "initial_stock") == 5);
  CHECK(Api::integer_field(reconciled.body, "admit_remaining") == 4);
  CHECK(Api::integer_field(reconciled.body, "in_flight") == 1);
  CHECK_THAT(reconciled.body, Catch::Contains("\"reconciled\":false"));
}

TEST_CASE("stock_shards is checked on create and shown on the product", "[routes]") {
  Api api;
  for (const char* bad : {"0", "65", "-1", "1.5", "\"3\"", "null", "4294967297"}) {
    INFO("stock_shards " << bad);
    HttpResponse refused = api.call("POST", "/api/products", product_body(bad), kAdmin);
    check_error(refused, 400, "invalid_request");
    CHECK_THAT(refused.body, Catch::Contains("stock_shards must be"));
  }
  HttpResponse plain = api.call("POST", "/api/products", product_body(""), kAdmin);
  REQUIRE(plain.status == 201);
  CHECK(Api::integer_field(plain.body, "stock_shards") == 1);
  HttpResponse widest = api.call("POST", "/api/products", product_body("64"), kAdmin);
  REQUIRE(widest.status == 201);
  CHECK(Api::integer_field(widest.body, "stock_shards") == 64);
  HttpResponse sharded = api.call("POST", "/api/products", product_body("3"), kAdmin);
  REQUIRE(sharded.status == 201);
  CHECK(Api::integer_field(sharded.body, "stock_shards") == 3);

  // The memory admit stage keeps one stock: the sum, no per-shard figures.
  const std::string product = std::to_string(Api::integer_field(sharded.body, "id"));
  REQUIRE(api.call("POST", "/api/flash_sale/preload/" + product, "", kAdmin).status == 200);
  HttpResponse shown = api.call("GET", "/api/products/" + product);
  CHECK(shown.status == 200);
  CHECK(Api::integer_field(shown.body, "stock_shards") == 3);
  CHECK(Api::integer_field(shown.body, "remaining") == 9);
  CHECK(shown.body.find("remaining_by_shard") == std::string::npos);
}

TEST_CASE("preload hands the admit stage the product's stock_shards and a sharding stage's shards are shown",
          "[routes]") {
  Api api;
  auto admission = std::make_shared<ShardingAdmission>();
  Catalog catalog(api.stages.store, admission, 0);
  api.context.catalog = &catalog;
  HttpResponse created = api.call("POST", "/api/products", product_body("4"), kAdmin);
  REQUIRE(created.status == 201);
  const std::string product = std::to_string(Api::integer_field(created.body, "id"));

  HttpResponse before = api.call("GET", "/api/products/" + product);
  CHECK_THAT(before.body, Catch::Contains("\"remaining\":null"));
  CHECK(before.body.find("remaining_by_shard") == std::string::npos);

  HttpResponse preloaded = api.call("POST", "/api/flash_sale/preload/" + product, "", kAdmin);
  CHECK(preloaded.status == 200);
  CHECK(admission->loaded.shards == 4);
  CHECK(admission->loaded.sellable == 9);
  HttpResponse shown = api.call("GET", "/api/products/" + product);
  CHECK(shown.status == 200);
  CHECK_THAT(shown.body, Catch::Contains(R"("remaining":9,"remaining_by_shard":[3,2,2,2])") &&
                             Catch::Contains(R"("stock_shards":4)"));
  HttpResponse reconciled = api.call("GET", "/api/admin/reconcile/" + product, "", kAdmin);
  CHECK(reconciled.status == 200);
  CHECK_THAT(reconciled.body, Catch::Contains(R"("admit_remaining":9,)") &&
                                  Catch::Contains(R"("admit_remaining_by_shard":[3,2,2,2])"));
}

TEST_CASE("a buy is refused for an invalid body or an unknown product and rate-limited by address", "[routes]") {
  Api api(3);
  const std::int64_t id = api.create_product(10);
  REQUIRE(api.call("POST", "/api/flash_sale/preload/" + std::to_string(id), "", kAdmin).status == 200);

  check_error(api.call("POST", "/api/flash_sale/buy", "not json"), 400, "invalid_request");
  check_error(api.call("POST", "/api/flash_sale/buy", R"({"product_id":1,"user_id":1})"), 400, "invalid_request");
  check_error(api.call("POST", "/api/flash_sale/buy", ""), 400, "invalid_request");
  check_error(api.call("POST", "/api/flash_sale/buy", R"({"product_id":1,"user_id":0,"quantity":1})"), 400,
              "invalid_request");
  check_error(api.call("POST", "/api/flash_sale/buy", buy_body(id + 1000, 1), {}, "192.0.2.2"), 404, "not_found");

  // Without a usable user the client address is the rate-limit subject:
  // 192.0.2.1 has had its three, 192.0.2.3 has not.
  check_error(api.call("POST", "/api/flash_sale/buy", "{}"), 429, "rate_limited");
  check_error(api.call("POST", "/api/flash_sale/buy", "{}", {}, "192.0.2.3"), 400, "invalid_request");
}

TEST_CASE("result answers a known request and 404 for an unknown one", "[routes]") {
  Api api;
  const std::int64_t id = api.create_product(10);
  REQUIRE(api.call("POST", "/api/flash_sale/preload/" + std::to_string(id), "", kAdmin).status == 200);
  HttpResponse bought = api.call("POST", "/api/flash_sale/buy", buy_body(id, 1));
  REQUIRE(bought.status == 202);
  const std::string request_id = Api::string_field(bought.body, "request_id");

  HttpResponse result = api.call("GET", "/api/flash_sale/result/" + request_id);
  CHECK(result.status == 200);
  CHECK(Api::string_field(result.body, "request_id") == request_id);
  CHECK(Api::string_field(result.body, "status") == "pending");

  check_error(api.call("GET", "/api/flash_sale/result/019b78ff-f900-7a3c-9e51-0f6a1c2d3e4f"), 404, "not_found");
  check_error(api.call("GET", "/api/products/999"), 404, "not_found");
  check_error(api.call("GET", "/api/products/0"), 404, "not_found");
  check_error(api.call("GET", "/api/products/abc"), 404, "not_found");
}

TEST_CASE("wrong methods are 405 with Allow and unknown paths 404 while HEAD is served", "[routes]") {
  Api api;
  HttpResponse wrong = api.call("GET", "/api/flash_sale/buy");
  check_error(wrong, 405, "method_not_allowed");
  REQUIRE(wrong.headers.size() == 1);
  CHECK(wrong.headers[0] == std::make_pair(std::string("Allow"), std::string("POST")));
  check_error(api.call("POST", "/api/products/1"), 405, "method_not_allowed");
  check_error(api.call("DELETE", "/healthz"), 405, "method_not_allowed");
  check_error(api.call("GET", "/nowhere"), 404, "route_not_found");
  check_error(api.call("GET", "/api/flash_sale/result/"), 404, "route_not_found");
  CHECK(api.call("HEAD", "/healthz").status == 200);
}

TEST_CASE("only /healthz and /livez may run on the I/O thread", "[routes]") {
  Api api;
  auto blocking = [&](std::string_view method, std::string_view target) {
    Router::Match match = api.router.match(HttpRequest::make(method, target));
    REQUIRE(match.handler != nullptr);
    return match.blocking;
  };
  CHECK_FALSE(blocking("GET", "/healthz"));
  CHECK_FALSE(blocking("GET", "/livez"));
  CHECK(api.call("GET", "/livez").body == R"({"status":"ok"})");
  CHECK(blocking("POST", "/api/flash_sale/buy"));
  CHECK(blocking("GET", "/api/flash_sale/result/x"));
  CHECK(blocking("POST", "/api/products"));
  CHECK(blocking("GET", "/api/products/1"));
  CHECK(blocking("POST", "/api/flash_sale/preload/1"));
  CHECK(blocking("GET", "/api/admin/reconcile/1"));
}

TEST_CASE("/dashboard serves the live sale page to anyone from the I/O thread", "[routes]") {
  Api api;
  Router::Match match = api.router.match(HttpRequest::make("GET", "/dashboard"));
  REQUIRE(match.handler != nullptr);
  CHECK_FALSE(match.blocking);
  HttpResponse page = api.call("GET", "/dashboard");
  REQUIRE(page.status == 200);
  CHECK(std::string(page.content_type) == "text/html; charset=utf-8");
  CHECK_THAT(page.body, Catch::StartsWith("<!DOCTYPE html>"));
  CHECK_THAT(page.body, Catch::Contains("fetch(\"/metrics\""));
  CHECK_THAT(page.body, Catch::Contains("data-metric=\"accepted_total\""));
  // Self-contained: nothing loaded from elsewhere, and the browser is told so.
  CHECK_THAT(page.body, !Catch::Contains("http://") && !Catch::Contains("https://") && !Catch::Contains(" src="));
  REQUIRE(page.headers.size() == 1);
  CHECK(page.headers[0].first == "Content-Security-Policy");
  CHECK_THAT(page.headers[0].second, Catch::Contains("connect-src 'self'"));
}

TEST_CASE("/healthz reports the pipeline's and the HTTP front's counters", "[routes]") {
  Api api;
  check_error(api.call("POST", "/api/products", "{}"), 401, "unauthorized");
  bump(api.counters.http.connections_accepted, 3);
  HttpResponse health = api.call("GET", "/healthz");
  REQUIRE(health.status == 200);
  CHECK_THAT(health.body, Catch::StartsWith(R"({"status":"ok","counters":{"buy_accepted":0,)"));
  CHECK_THAT(health.body, Catch::Contains(R"("http":{"connections_open":0,"connections_accepted":3,)"));
  for (const char* name : {"refused_max_connections", "refused_per_ip", "header_timeouts", "body_timeouts",
                           "idle_closed", "write_timeouts", "bad_requests", "payload_too_large", "pipeline_paused",
                           "handler_queue_full", "admin_auth_limited"}) {
    CHECK_THAT(health.body, Catch::Contains("\"" + std::string(name) + "\":0"));
  }
  CHECK_THAT(health.body, Catch::Contains("\"admin_auth_failures\":1"));
  CHECK_THAT(health.body, Catch::Contains(R"("accepted_to_final_ms":{"count":0,)"));
}

TEST_CASE("the admin guard's lockout reaches the API as 429 auth_rate_limited", "[routes]") {
  Api api;
  for (int i = 0; i < 10; ++i) check_error(api.call("GET", "/api/admin/reconcile/1"), 401, "unauthorized");
  CHECK(api.call("GET", "/api/admin/reconcile/1", "", kAdmin).status == 404);  // not locked out yet
  HttpResponse limited = api.call("GET", "/api/admin/reconcile/1");
  check_error(limited, 429, "auth_rate_limited");
  CHECK(limited.headers == Headers{{"Retry-After", "1"}});
  check_error(api.call("GET", "/api/admin/reconcile/1", "", kAdmin), 429, "auth_rate_limited");
  CHECK(api.call("GET", "/api/admin/reconcile/1", "", kAdmin, "192.0.2.9").status == 404);  // another address
}

TEST_CASE("/readyz asks the backends of the process's roles and names each that is not ready", "[routes]") {
  Api api;
  HttpResponse ready = api.call("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == R"({"status":"ready","backends":{"memory":{"stages":"ratelimit,admit,outbox,relay,persist,notify",)"
                      R"("ready":true}}})");

  api.context.readiness = [] {
    return std::vector<BackendReadiness>{{"redis", "ratelimit,admit,notify", false, "redis.addr: connection refused"},
                                         {"sqlite", "persist", true, ""}};
  };
  HttpResponse down = api.call("GET", "/readyz");
  check_error(down, 503, "not_ready");
  CHECK_THAT(down.body, Catch::Contains("redis (ratelimit,admit,notify): redis.addr: connection refused"));
  CHECK_THAT(down.body, Catch::Contains(R"("sqlite":{"stages":"persist","ready":true})"));

  Config relay_only = test::memory_config(1000, "");
  relay_only.role_api = relay_only.role_consumer = relay_only.role_expirer = false;
  CHECK(stages_of_roles(relay_only) == std::vector<StageKind>{StageKind::outbox, StageKind::relay});
}

TEST_CASE("a handler that throws answers 500 internal", "[routes]") {
  Api api;
  api.router.add("GET", "/boom", false, [](const HttpRequest&, std::string_view) -> HttpResponse {
    throw std::runtime_error("stage exploded");
  });
  api.router.add("GET", "/odd/{}", false, [](const HttpRequest&, std::string_view) -> HttpResponse { throw 42; });
  HttpResponse boom = api.call("GET", "/boom");
  check_error(boom, 500, "internal");
  CHECK_THAT(boom.body, Catch::Contains("stage exploded"));
  check_error(api.call("GET", "/odd/1"), 500, "internal");
  CHECK(api.call("GET", "/healthz").status == 200);  // the table still answers
}

}  // namespace flashsale

namespace flashsale {

namespace {

// Publishes, polls and rejects events in the (memory) relay until each is dead-lettered.
void dead_letter_in_relay(test::Api& api, int count) {
  Relay& relay = *api.stages.relay;
  std::vector<OrderEvent> events;
  for (int i = 0; i < count; ++i) events.push_back(OrderEvent{"dl-" + std::to_string(i), 10 + i, 1, 1, 100, 0});
  std::vector<bool> delivered;
  REQUIRE(relay.publish(events, &delivered).is_ok());
  std::vector<OrderEvent> polled;
  REQUIRE(relay.poll(events.size(), std::chrono::milliseconds(1000), &polled).is_ok());
  REQUIRE(polled.size() == events.size());
  for (const OrderEvent& event : polled) {
    bool dead = false;
    for (int i = 0; i < 100 && !dead; ++i) REQUIRE(relay.reject(event, "internal: refused", &dead).is_ok());
    REQUIRE(dead);
  }
  REQUIRE(relay.commit().is_ok());
}

}  // namespace

TEST_CASE("dead letters are paged inspected and replayed by an admin within bounds", "[routes]") {
  test::Api api;
  dead_letter_in_relay(api, 3);
  CHECK(api.call("GET", "/api/admin/dead-letters?source=relay").status == 401);

  HttpResponse page = api.call("GET", "/api/admin/dead-letters?source=relay&limit=2", "", test::kAdmin);
  REQUIRE(page.status == 200);
  CHECK(page.body.find(R"("request_id":"dl-0")") != std::string::npos);
  CHECK(page.body.find(R"("request_id":"dl-2")") == std::string::npos);
  CHECK(page.body.find(R"("reason":"internal: refused")") != std::string::npos);
  std::string next = test::Api::string_field(page.body, "next_after");
  HttpResponse rest = api.call("GET", "/api/admin/dead-letters?source=relay&limit=2&after=" + next, "", test::kAdmin);
  REQUIRE(rest.status == 200);
  CHECK(rest.body.find(R"("request_id":"dl-2")") != std::string::npos);
  CHECK(rest.body.find("next_after") == std::string::npos);  // a short page is the last

  for (const char* bad : {"?source=kafka", "?limit=0", "?limit=101", "?limit=x", "?source=relay&after=x"}) {
    INFO(bad);
    HttpResponse refused = api.call("GET", std::string("/api/admin/dead-letters") + bad, "", test::kAdmin);
    CHECK(refused.status == 400);
    CHECK(refused.body.find("invalid_request") != std::string::npos);
  }
  CHECK(api.call("GET", "/api/admin/dead-letters?limit=100", "", test::kAdmin).status == 200);  // the outbox's, empty
  CHECK(api.call("GET", "/api/admin/dead-letters/" + next + "?source=relay", "", test::kAdmin).status == 200);
  CHECK(api.call("GET", "/api/admin/dead-letters/99?source=relay", "", test::kAdmin).status == 404);

  HttpResponse one = api.call("POST", "/api/admin/dead-letters/" + next + "/replay?source=relay", "", test::kAdmin);
  CHECK(one.status == 200);
  CHECK(api.call("POST", "/api/admin/dead-letters/" + next + "/replay?source=relay", "", test::kAdmin).status == 404);
  CHECK(api.call("POST", "/api/admin/dead-letters/replay?source=relay&limit=1001", "", test::kAdmin).status == 400);
  HttpResponse first = api.call("POST", "/api/admin/dead-letters/replay?source=relay&limit=1", "", test::kAdmin);
  REQUIRE(first.status == 200);
  CHECK(test::Api::integer_field(first.body, "replayed") == 1);
  CHECK(first.body.find(R"("more":true)") != std::string::npos);
  HttpResponse all = api.call("POST", "/api/admin/dead-letters/replay?source=relay", "", test::kAdmin);
  CHECK(test::Api::integer_field(all.body, "replayed") == 1);
  CHECK(all.body.find(R"("more":false)") != std::string::npos);
  RelayStats stats;
  REQUIRE(api.stages.relay->stats(&stats).is_ok());
  CHECK(stats.dead_lettered == 3);
  CHECK(stats.replayed == 3);
}

}  // namespace flashsale
