// The route table alone: which handler a method and path reach, and the 404
// and 405 answers when none does.
#include <catch2/catch.hpp>

#include <string>

#include "http/router.h"

namespace flashsale {

namespace {

// Answers with the route's name and the matched segment, so a test sees both.
Router::Handler named(std::string name) {
  return [name](const HttpRequest&, std::string_view param) {
    return HttpResponse::json(200, name + ":" + std::string(param));
  };
}

Router sample_router() {
  Router router;
  router.add("GET", "/healthz", false, named("health"));
  router.add("POST", "/api/products", true, named("create"));
  router.add("GET", "/api/products/{}", true, named("product"));
  router.add("DELETE", "/api/products/{}", true, named("delete"));
  router.add("POST", "/api/flash_sale/buy", true, named("buy"));
  router.add("POST", "/api/orders/{}/pay", true, named("pay"));
  router.add("GET", "/api/orders/{}", true, named("order"));
  return router;
}

std::string served_by(const Router& router, std::string_view method, std::string_view target) {
  HttpRequest request = HttpRequest::make(method, target);
  Router::Match match = router.match(request);
  if (match.handler == nullptr) return "refused " + std::to_string(match.refusal.status);
  return (*match.handler)(request, match.param).body;
}

std::string allow_header(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "Allow") return value;
  }
  return "(none)";
}

}  // namespace

TEST_CASE("exact paths and one-segment parameters reach their handler", "[routes]") {
  Router router = sample_router();
  CHECK(served_by(router, "GET", "/healthz") == "health:");
  CHECK(served_by(router, "POST", "/api/products") == "create:");
  CHECK(served_by(router, "GET", "/api/products/42") == "product:42");
  CHECK(served_by(router, "DELETE", "/api/products/42") == "delete:42");
  CHECK(served_by(router, "GET", "/api/products/42?verbose=1") == "product:42");
  CHECK(served_by(router, "GET", "/healthz?x") == "health:");
  CHECK(served_by(router, "POST", "/api/orders/9/pay") == "pay:9");
  CHECK(served_by(router, "GET", "/api/orders/9") == "order:9");
}

TEST_CASE("a match says whether its handler blocks and points its parameter into the request", "[routes]") {
  Router router = sample_router();
  HttpRequest request = HttpRequest::make("GET", "/api/products/7");
  Router::Match match = router.match(request);
  REQUIRE(match.handler != nullptr);
  CHECK(match.blocking);
  CHECK(match.param == "7");
  CHECK(match.param.data() >= request.head.data());
  CHECK(match.param.data() < request.head.data() + request.head.size());
  CHECK_FALSE(router.match(HttpRequest::make("GET", "/healthz")).blocking);
}

TEST_CASE("an unknown path is 404 route_not_found naming it", "[routes]") {
  Router router = sample_router();
  for (const char* target : {"/nowhere", "/", "/healthz/", "/api/product", "/api/products/", "/api/products/1/2",
                             "/api/productsX", "/HEALTHZ"}) {
    INFO(target);
    Router::Match match = router.match(HttpRequest::make("GET", target));
    REQUIRE(match.handler == nullptr);
    CHECK(match.refusal.status == 404);
    CHECK_THAT(match.refusal.body, Catch::Contains("\"route_not_found\""));
  }
  Router::Match match = router.match(HttpRequest::make("GET", "/nowhere?q=1"));
  CHECK_THAT(match.refusal.body, Catch::Contains("no route for /nowhere\""));
}

TEST_CASE("a parameter is one non-empty segment", "[routes]") {
  Router router = sample_router();
  CHECK(served_by(router, "GET", "/api/products/") == "refused 404");
  CHECK(served_by(router, "GET", "/api/products/1/") == "refused 404");
  CHECK(served_by(router, "GET", "/api/products/a/b") == "refused 404");
  CHECK(served_by(router, "GET", "/api/products/a%2Fb") == "product:a%2Fb");  // not decoded
  // A segment inside a path: between its prefix and its suffix, whole.
  CHECK(served_by(router, "POST", "/api/orders//pay") == "refused 404");
  CHECK(served_by(router, "POST", "/api/orders/1/2/pay") == "refused 404");
  CHECK(served_by(router, "POST", "/api/orders/1/payX") == "refused 404");
  CHECK(served_by(router, "POST", "/api/orders/1/pay/") == "refused 404");
  CHECK(served_by(router, "GET", "/api/orders/1/pay") == "refused 405");
}

TEST_CASE("a known path with another method is 405 with every method of the path in Allow", "[routes]") {
  Router router = sample_router();
  Router::Match match = router.match(HttpRequest::make("GET", "/api/flash_sale/buy"));
  REQUIRE(match.handler == nullptr);
  CHECK(match.refusal.status == 405);
  CHECK_THAT(match.refusal.body, Catch::Contains("\"method_not_allowed\""));
  CHECK(allow_header(match.refusal) == "POST");

  match = router.match(HttpRequest::make("PUT", "/api/products/9"));
  CHECK(match.refusal.status == 405);
  CHECK(allow_header(match.refusal) == "GET, HEAD, DELETE");

  match = router.match(HttpRequest::make("POST", "/healthz"));
  CHECK(match.refusal.status == 405);
  CHECK(allow_header(match.refusal) == "GET, HEAD");

  // Methods are case-sensitive (RFC 9110 9.1).
  CHECK(router.match(HttpRequest::make("get", "/healthz")).refusal.status == 405);
}

TEST_CASE("HEAD is served by the GET route unless the path has a HEAD route of its own", "[routes]") {
  Router router = sample_router();
  CHECK(served_by(router, "HEAD", "/healthz") == "health:");
  CHECK(served_by(router, "HEAD", "/api/products/5") == "product:5");
  CHECK(served_by(router, "HEAD", "/api/products") == "refused 405");
  CHECK(allow_header(router.match(HttpRequest::make("HEAD", "/api/products")).refusal) == "POST");

  router.add("HEAD", "/api/products/{}", false, named("head"));
  CHECK(served_by(router, "HEAD", "/api/products/5") == "head:5");
  CHECK(allow_header(router.match(HttpRequest::make("PUT", "/api/products/5")).refusal) == "GET, HEAD, DELETE");
}

}  // namespace flashsale
