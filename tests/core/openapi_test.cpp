// docs/openapi.json against the server: every route is documented and every
// documented path is a route; a scenario that drives each route to each of
// its answers finds every status and error code it is answered with in the
// document, and every status and code the document gives a route (beyond
// the shared ones any backend failure may bring) is one the scenario saw.
#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "core/api_harness.h"
#include "flashsale/clock.h"
#include "http/payment_signature.h"

namespace flashsale {

namespace {

using Poco::JSON::Object;
using test::Api;
using test::Headers;
using test::kAdmin;

using Answer = std::tuple<std::string, std::string, int, std::string>;  // method, doc path, status, code

Object::Ptr load_document() {
  std::ifstream in(test::source_dir() + "/docs/openapi.json");
  std::stringstream text;
  text << in.rdbuf();
  return Poco::JSON::Parser().parse(text.str()).extract<Object::Ptr>();
}

// "/api/orders/{}/pay" (a route) and "/api/orders/{id}/pay" (the document) alike.
std::string normalized(const std::string& path) {
  return std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "{}");
}

Object::Ptr resolve(const Object::Ptr& document, Object::Ptr node) {
  while (node->has("$ref")) {
    std::string ref = node->getValue<std::string>("$ref");  // "#/components/<kind>/<name>"
    std::string rest = ref.substr(2);
    Object::Ptr at = document;
    for (std::size_t start = 0, slash; start <= rest.size(); start = slash + 1) {
      slash = rest.find('/', start);
      if (slash == std::string::npos) slash = rest.size();
      at = at->getObject(rest.substr(start, slash - start));
    }
    node = at;
  }
  return node;
}

// The error codes a documented response lists (empty for a success).
std::set<std::string> codes_of(const Object::Ptr& document, Object::Ptr response) {
  response = resolve(document, response);
  std::set<std::string> codes;
  if (!response->has("content") || !response->getObject("content")->has("application/json")) return codes;
  Object::Ptr schema = response->getObject("content")->getObject("application/json")->getObject("schema");
  for (int depth = 0; depth < 4 && schema; ++depth) {
    if (schema->has("properties") && schema->getObject("properties")->has("error")) {
      Object::Ptr error = schema->getObject("properties")->getObject("error");
      if (error->has("properties") && error->getObject("properties")->has("code")) {
        Object::Ptr code = error->getObject("properties")->getObject("code");
        if (code->has("enum")) {
          for (const auto& value : *code->getArray("enum")) codes.insert(value.toString());
          return codes;
        }
      }
    }
    if (schema->has("allOf")) {
      schema = schema->getArray("allOf")->getObject(0);
    } else if (schema->has("$ref")) {
      schema = resolve(document, schema);
    } else {
      break;
    }
  }
  return codes;
}

// Calls the API and records which documented route answered what.
struct Recorder {
  std::set<Answer> answers;

  HttpResponse call(Api& api, std::string_view method, const std::string& target, std::string body = {},
                    const Headers& headers = {}, const std::string& client_ip = "192.0.2.1") {
    HttpRequest request = HttpRequest::make(method, target, headers, body);
    request.client_ip = client_ip;
    Router::Match match = api.router.match(request);
    REQUIRE(match.handler != nullptr);
    HttpResponse response = (*match.handler)(request, match.param);
    std::string code;
    if (response.status >= 400) {
      Object::Ptr json = Poco::JSON::Parser().parse(response.body).extract<Object::Ptr>();
      code = json->getObject("error")->getValue<std::string>("code");
    }
    answers.emplace(std::string(method), normalized(std::string(match.pattern)), response.status, code);
    return response;
  }
};

std::string buy_body(std::int64_t product, std::int64_t user) {
  return R"({"product_id":)" + std::to_string(product) + R"(,"user_id":)" + std::to_string(user) + R"(,"quantity":1})";
}

std::string product_body(std::int64_t stock, UnixMillis start, UnixMillis end) {
  return R"({"name":"doc","stock":)" + std::to_string(stock) + R"(,"sale_price":100,"start_time":")" +
         format_rfc3339(start) + R"(","end_time":")" + format_rfc3339(end) + R"("})";
}

Headers signature_for(const std::string& body) {
  return {{"X-Payment-Signature", payment_signature(test::kWebhookSecret, body)}};
}

// An order made directly in the persist stage (the API has no worker to
// persist buys here); its id.
OrderId place_order(Api& api, ProductId product, UserId user) {
  OrderEvent event{"doc-" + std::to_string(product) + "-" + std::to_string(user), user, product, 1, 100, now_ms()};
  std::vector<PersistResult> results;
  REQUIRE(api.stages.store->persist({event}, 3'600'000, &results).is_ok());
  REQUIRE(results[0].status == RequestStatus::success);
  return results[0].order_id;
}

// A dead letter in the (memory) relay: an event rejected until it gives up;
// the newest dead letter's id.
std::string relay_dead_letter(Api& api, const std::string& request_id) {
  Relay& relay = *api.stages.relay;
  std::vector<bool> delivered;
  REQUIRE(relay.publish({OrderEvent{request_id, 1, 1, 1, 100, now_ms()}}, &delivered).is_ok());
  std::vector<OrderEvent> polled;
  REQUIRE(relay.poll(10, std::chrono::milliseconds(1000), &polled).is_ok());
  REQUIRE_FALSE(polled.empty());
  for (const OrderEvent& event : polled) {  // a replayed one among them too
    bool dead = false;
    for (int i = 0; i < 100 && !dead; ++i) REQUIRE(relay.reject(event, "internal: refused", &dead).is_ok());
    REQUIRE(dead);
  }
  REQUIRE(relay.commit().is_ok());
  std::vector<DeadLetter> letters;
  REQUIRE(relay.list_dead_letters("", kMaxDeadLetterPage, &letters).is_ok());
  REQUIRE_FALSE(letters.empty());
  return letters.back().id;
}

void dead_letter_scenario(Recorder& r, Api& api) {
  std::string id = relay_dead_letter(api, "doc-dead-1");
  r.call(api, "GET", "/api/admin/dead-letters?source=relay&limit=5", "", kAdmin);
  r.call(api, "GET", "/api/admin/dead-letters?source=elsewhere", "", kAdmin);
  r.call(api, "GET", "/api/admin/dead-letters?limit=0", "", kAdmin);
  r.call(api, "GET", "/api/admin/dead-letters/" + id + "?source=relay", "", kAdmin);
  r.call(api, "GET", "/api/admin/dead-letters/999999?source=relay", "", kAdmin);
  r.call(api, "GET", "/api/admin/dead-letters/1?source=elsewhere", "", kAdmin);
  r.call(api, "POST", "/api/admin/dead-letters/" + id + "/replay?source=relay", "", kAdmin);
  r.call(api, "POST", "/api/admin/dead-letters/" + id + "/replay?source=relay", "", kAdmin);
  r.call(api, "POST", "/api/admin/dead-letters/1/replay?source=elsewhere", "", kAdmin);
  relay_dead_letter(api, "doc-dead-2");
  r.call(api, "POST", "/api/admin/dead-letters/replay?source=relay&limit=10", "", kAdmin);
  r.call(api, "POST", "/api/admin/dead-letters/replay?source=relay&limit=1001", "", kAdmin);
}

// Drives every route to each answer it has.
void run_scenario(Recorder& r) {
  Api api(3);
  UnixMillis now = now_ms();
  std::string id = std::to_string(api.create_product(1));
  r.call(api, "POST", "/api/products", product_body(1, now - 3'600'000, now + 3'600'000), kAdmin);
  r.call(api, "POST", "/api/products", "{}", kAdmin);
  r.call(api, "GET", "/api/products/" + id);
  r.call(api, "GET", "/api/products/999999");
  r.call(api, "POST", "/api/flash_sale/preload/" + id, "", kAdmin);
  r.call(api, "POST", "/api/flash_sale/preload/999999", "", kAdmin);
  r.call(api, "GET", "/api/admin/reconcile/" + id, "", kAdmin);
  r.call(api, "GET", "/api/admin/reconcile/999999", "", kAdmin);

  HttpResponse bought =
      r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(id), 1), {{"X-Idempotency-Key", "k"}});
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(id), 2), {{"X-Idempotency-Key", "k"}});
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(id), 1));  // already_purchased
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(id), 3));  // sold_out
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(id), 1));  // the third: rate limit 3
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(id), 1));  // rate_limited
  r.call(api, "POST", "/api/flash_sale/buy", "not json");
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(999999, 4));
  std::string later = std::to_string(api.create_product(5));
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(later), 5));  // not_preloaded
  HttpResponse future = r.call(api, "POST", "/api/products", product_body(5, now + 3'600'000, now + 7'200'000), kAdmin);
  std::string upcoming = std::to_string(Api::integer_field(future.body, "id"));
  r.call(api, "POST", "/api/flash_sale/preload/" + upcoming, "", kAdmin);
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(upcoming), 6));  // sale_not_active
  std::string paused = std::to_string(api.create_product(5));
  r.call(api, "POST", "/api/flash_sale/preload/" + paused, "", kAdmin);
  r.call(api, "POST", "/api/admin/products/" + paused + "/pause", "", kAdmin);
  r.call(api, "POST", "/api/admin/products/999999/pause", "", kAdmin);
  r.call(api, "POST", "/api/flash_sale/buy", buy_body(std::stoll(paused), 7));  // sale_paused
  r.call(api, "POST", "/api/admin/products/" + paused + "/resume", "", kAdmin);
  r.call(api, "POST", "/api/admin/products/999999/resume", "", kAdmin);
  r.call(api, "POST", "/api/admin/products/" + paused + "/stock", R"({"add":5})", kAdmin);
  r.call(api, "POST", "/api/admin/products/" + paused + "/stock", R"({"add":0})", kAdmin);
  r.call(api, "POST", "/api/admin/products/999999/stock", R"({"add":5})", kAdmin);
  r.call(api, "POST", "/api/admin/products/" + later + "/stock", R"({"add":5})", kAdmin);  // not_preloaded
  r.call(api, "GET", "/api/flash_sale/result/" + Api::string_field(bought.body, "request_id"));
  r.call(api, "GET", "/api/flash_sale/result/unknown");

  std::string paid = std::to_string(place_order(api, std::stoll(later), 10));
  std::string cancelled = std::to_string(place_order(api, std::stoll(later), 11));
  std::string payment = R"({"payment_id":"p","amount":100})";
  std::string other = R"({"payment_id":"q","amount":100})";
  std::string short_paid = R"({"payment_id":"p","amount":99})";
  r.call(api, "GET", "/api/orders/" + paid);
  r.call(api, "GET", "/api/orders/999999");
  r.call(api, "POST", "/api/orders/" + paid + "/pay", short_paid, signature_for(short_paid));
  r.call(api, "POST", "/api/orders/" + paid + "/pay", payment, signature_for(payment));
  r.call(api, "POST", "/api/orders/" + paid + "/pay", other, signature_for(other));
  r.call(api, "POST", "/api/orders/" + paid + "/pay", payment);
  r.call(api, "POST", "/api/orders/" + paid + "/pay", "{}", signature_for("{}"));
  r.call(api, "POST", "/api/orders/999999/pay", payment, signature_for(payment));
  r.call(api, "POST", "/api/orders/" + paid + "/cancel", R"({"user_id":10})");
  r.call(api, "POST", "/api/orders/" + cancelled + "/cancel", R"({"user_id":11})");
  r.call(api, "POST", "/api/orders/" + cancelled + "/cancel", R"({"user_id":12})");
  r.call(api, "POST", "/api/orders/" + cancelled + "/cancel", "{}");
  r.call(api, "POST", "/api/orders/" + cancelled + "/pay", payment, signature_for(payment));

  r.call(api, "GET", "/healthz");
  r.call(api, "GET", "/livez");
  r.call(api, "GET", "/readyz");
  api.context.readiness = [] { return std::vector<BackendReadiness>{{"redis", "admit", false, "connection refused"}}; };
  r.call(api, "GET", "/readyz");
  r.call(api, "GET", "/openapi.json");
  r.call(api, "GET", "/metrics");
  dead_letter_scenario(r, api);
  r.call(api, "GET", "/dashboard");

  // Wrong tokens: 401 on each admin route, then the address is locked out.
  const std::string stranger = "192.0.2.99";
  for (int i = 0; i < 4; ++i) {
    r.call(api, "POST", "/api/products", "{}", {}, stranger);
    r.call(api, "POST", "/api/flash_sale/preload/" + id, "", {}, stranger);
    r.call(api, "GET", "/api/admin/reconcile/" + id, "", {}, stranger);
    for (const char* action : {"/pause", "/resume", "/stock"}) {
      r.call(api, "POST", "/api/admin/products/" + id + action, "", {}, stranger);
    }
    r.call(api, "GET", "/api/admin/dead-letters", "", {}, stranger);
    r.call(api, "GET", "/api/admin/dead-letters/1", "", {}, stranger);
    r.call(api, "POST", "/api/admin/dead-letters/1/replay", "", {}, stranger);
    r.call(api, "POST", "/api/admin/dead-letters/replay", "", {}, stranger);
  }
  r.call(api, "POST", "/api/products", "{}", kAdmin, stranger);
  r.call(api, "POST", "/api/flash_sale/preload/" + id, "", kAdmin, stranger);
  r.call(api, "GET", "/api/admin/reconcile/" + id, "", kAdmin, stranger);
  r.call(api, "GET", "/api/admin/dead-letters", "", kAdmin, stranger);
  r.call(api, "GET", "/api/admin/dead-letters/1", "", kAdmin, stranger);
  r.call(api, "POST", "/api/admin/dead-letters/1/replay", "", kAdmin, stranger);
  r.call(api, "POST", "/api/admin/dead-letters/replay", "", kAdmin, stranger);

  Api no_secret(1000, "");
  r.call(no_secret, "POST", "/api/orders/1/pay", payment, signature_for(payment));
}

}  // namespace

TEST_CASE("every route is in docs/openapi.json and every documented path is a route", "[openapi]") {
  Object::Ptr document = load_document();
  Object::Ptr paths = document->getObject("paths");
  Api api;
  std::set<std::pair<std::string, std::string>> routes, documented;
  for (const Router::Entry& entry : api.router.table()) {
    std::string method = entry.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    routes.emplace(method, normalized(entry.pattern));
  }
  for (const auto& [path, operations] : *paths) {
    for (const auto& [method, operation] : *operations.extract<Object::Ptr>())
      documented.emplace(method, normalized(path));
  }
  CHECK(routes == documented);
  CHECK(document->getValue<std::string>("openapi") == "3.1.0");

  HttpResponse served = api.call("GET", "/openapi.json");
  CHECK(served.status == 200);
  CHECK(Poco::JSON::Parser().parse(served.body).extract<Object::Ptr>()->getObject("paths")->size() == paths->size());
}

TEST_CASE("every answer a route gives is documented and every documented answer is given", "[openapi]") {
  Object::Ptr document = load_document();
  Recorder recorder;
  run_scenario(recorder);

  // Codes any route may get from a failing backend: documented once, shared.
  std::set<std::string> shared;
  for (const auto& [name, response] : *document->getObject("components")->getObject("responses")) {
    for (const std::string& code : codes_of(document, response.extract<Object::Ptr>())) shared.insert(code);
  }
  std::map<std::string, std::string> path_of;  // normalized -> as documented
  for (const auto& [path, operations] : *document->getObject("paths")) path_of[normalized(path)] = path;

  for (const auto& [method, path, status, code] : recorder.answers) {
    INFO(method << " " << path << " answered " << status << " " << code);
    std::string lower = method;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    REQUIRE(path_of.count(path) == 1);
    Object::Ptr responses =
        document->getObject("paths")->getObject(path_of[path])->getObject(lower)->getObject("responses");
    REQUIRE(responses->has(std::to_string(status)));
    if (!code.empty()) CHECK(codes_of(document, responses->getObject(std::to_string(status))).count(code) == 1);
  }

  for (const auto& [path, operations] : *document->getObject("paths")) {
    for (const auto& [method, operation] : *operations.extract<Object::Ptr>()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      for (const auto& [status, response] : *operation.extract<Object::Ptr>()->getObject("responses")) {
        Object::Ptr answer = response.extract<Object::Ptr>();
        if (answer->has("$ref")) continue;  // a shared answer
        std::set<std::string> codes = codes_of(document, answer);
        INFO(upper << " " << path << " documents " << status);
        if (codes.empty()) {
          CHECK(recorder.answers.count({upper, normalized(path), std::stoi(status), ""}) == 1);
        }
        for (const std::string& code : codes) {
          if (shared.count(code) != 0) continue;
          INFO("code " << code);
          CHECK(recorder.answers.count({upper, normalized(path), std::stoi(status), code}) == 1);
        }
      }
    }
  }
}

}  // namespace flashsale
