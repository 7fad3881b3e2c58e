// The API as server.cpp builds it (Services on the memory family, through
// the real plugin host), called through its route table with no socket.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "app/services.h"
#include "http/json.h"
#include "support/temp_dir.h"

namespace flashsale::test {

inline const std::string kToken = "test-admin-token";
using Headers = std::vector<std::pair<std::string, std::string>>;
inline const Headers kAdmin = {{"X-Admin-Token", kToken}};

inline const std::string kWebhookSecret = "test-webhook-secret";

inline Config memory_config(std::int64_t rate_limit, const std::string& webhook_secret) {
  char* no_env[] = {nullptr};
  Config config = load_config("", no_env, ".");
  config.plugin_dir = test::plugin_dir();
  for (StageKind stage : kAllStages) config.stage_backend[static_cast<int>(stage)] = "memory";
  config.settings.set("buy.rate.limit", std::to_string(rate_limit));
  config.admin_token = kToken;
  config.payment_webhook_secret = webhook_secret;
  return config;
}

// What server.cpp builds, minus the listener and the workers.
struct Api {
  explicit Api(std::int64_t rate_limit = 1000, const std::string& webhook_secret = kWebhookSecret)
      : config(memory_config(rate_limit, webhook_secret)),
        services(config, [](const std::string&) {}),
        stages(services.stages),
        counters(services.counters),
        context(services.api),
        router(services.router) {}

  HttpResponse call(std::string_view method, std::string_view target, std::string body = {},
                    const Headers& headers = {}, const std::string& client_ip = "192.0.2.1") {
    HttpRequest request = HttpRequest::make(method, target, headers, std::move(body));
    request.client_ip = client_ip;
    Router::Match match = router.match(request);
    if (match.handler == nullptr) return match.refusal;
    return (*match.handler)(request, match.param);
  }

  // A product on sale now; its id.
  std::int64_t create_product(std::int64_t stock) {
    HttpResponse created = call("POST", "/api/products",
                                R"({"name":"phone","stock":)" + std::to_string(stock) +
                                    R"(,"sale_price":100,"start_time":"2020-01-01T00:00:00Z",)"
                                    R"("end_time":"2099-01-01T00:00:00Z"})",
                                kAdmin);
    REQUIRE(created.status == 201);
    return integer_field(created.body, "id");
  }

  // A top-level field of a JSON body, as JsonObject reads it (integer or string).
  template <typename Read>
  static auto field(const std::string& body, const std::string& key, Read read) {
    JsonObject json;
    std::string error;
    REQUIRE(JsonObject::parse(body, &json, &error));
    auto value = read(json, key, &error);
    INFO(error);
    REQUIRE(value);
    return *value;
  }
  static std::int64_t integer_field(const std::string& body, const std::string& key) {
    return field(body, key,
                 [](const JsonObject& json, const std::string& k, std::string* e) { return json.integer(k, e); });
  }
  static std::string string_field(const std::string& body, const std::string& key) {
    return field(body, key,
                 [](const JsonObject& json, const std::string& k, std::string* e) { return json.string(k, e); });
  }

  Config config;
  Services services;
  Stages& stages;
  Counters& counters;
  ApiContext& context;
  Router& router;
};

}  // namespace flashsale::test
