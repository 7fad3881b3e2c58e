#include <catch2/catch.hpp>

#include <string>

#include "core/api_harness.h"
#include "metrics/metrics_registry.h"
#include "metrics/pipeline_metrics.h"
#include "pipeline/product_outcomes.h"
#include "support/test_logger.h"

using flashsale::MetricsRegistry;
using flashsale::test::Api;
using flashsale::test::kAdmin;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

flashsale::HttpResponse buy(Api& api, std::int64_t product, int user) {
  return api.call(
      "POST", "/api/flash_sale/buy",
      R"({"user_id":)" + std::to_string(user) + R"(,"product_id":)" + std::to_string(product) + R"(,"quantity":1})");
}

}  // namespace

TEST_CASE("a metric asked for twice is one metric and the scrape shows its value", "[metrics]") {
  flashsale::test::TestLogger logger;
  MetricsRegistry registry(&logger);
  registry.counter("flashsale_test_total", "help", {{"stage", "a"}}).increment(2);
  registry.counter("flashsale_test_total", "help", {{"stage", "a"}}).increment();
  registry.counter("flashsale_test_total", "help", {{"stage", "b"}}).increment();
  registry.gauge("flashsale_test_level", "help").set(7);
  registry.histogram("flashsale_test_seconds", "help", {0.1, 1}).observe(0.5);
  std::string text = registry.scrape();
  CHECK_THAT(text, Catch::Contains("flashsale_test_total{stage=\"a\"} 3"));
  CHECK_THAT(text, Catch::Contains("flashsale_test_total{stage=\"b\"} 1"));
  CHECK_THAT(text, Catch::Contains("flashsale_test_level 7"));
  CHECK_THAT(text, Catch::Contains("flashsale_test_seconds_bucket{le=\"0.1\"} 0"));
  CHECK_THAT(text, Catch::Contains("flashsale_test_seconds_bucket{le=\"1\"} 1"));
  CHECK(logger.lines().empty());
}

TEST_CASE("a registration that clashes or is malformed counts nothing and is logged once", "[metrics]") {
  flashsale::test::TestLogger logger;
  MetricsRegistry registry(&logger);
  registry.counter("flashsale_clash_total", "help").increment();
  registry.gauge("flashsale_clash_total", "help").set(5);  // another type
  registry.gauge("flashsale_clash_total", "help").set(6);
  registry.counter("flashsale_clash_total", "help", {{"extra", "x"}}).increment(10);  // other labels
  registry.counter("not a name", "help").increment();
  registry.histogram("flashsale_bounds_seconds", "help", {1, 0.5}).observe(1);
  std::string text = registry.scrape();
  CHECK_THAT(text, Catch::Contains("flashsale_clash_total 1"));
  CHECK(occurrences(text, "flashsale_clash_total") == 3);  // HELP, TYPE, one sample
  CHECK_THAT(text, !Catch::Contains("not a name"));
  CHECK_THAT(text, !Catch::Contains("flashsale_bounds_seconds"));
  std::vector<std::string> lines = logger.lines();
  REQUIRE(lines.size() == 3);  // the clash once, the bad name, the bounds
  CHECK_THAT(lines[0], Catch::Contains("flashsale_clash_total"));
}

TEST_CASE("GET /metrics serves buys by outcome and route and the stock of each live sale", "[metrics]") {
  Api api;
  std::int64_t product = api.create_product(1);
  REQUIRE(api.call("POST", "/api/flash_sale/preload/" + std::to_string(product), "", kAdmin).status == 200);
  REQUIRE(buy(api, product, 1).status == 202);
  REQUIRE(buy(api, product, 2).status == 409);  // sold out
  flashsale::HttpResponse scraped = api.call("GET", "/metrics");
  REQUIRE(scraped.status == 200);
  CHECK(std::string(scraped.content_type).rfind("text/plain; version=0.0.4", 0) == 0);
  const std::string& text = scraped.body;
  CHECK_THAT(text, Catch::Contains(R"(flashsale_buy_requests_total{outcome="accepted"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_buy_requests_total{outcome="sold_out"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_http_requests_total{code="2xx",route="/api/flash_sale/buy"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_http_requests_total{code="4xx",route="/api/flash_sale/buy"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_http_request_duration_seconds_count{route="/api/flash_sale/buy"} 2)"));
  CHECK_THAT(text, Catch::Contains("flashsale_stock_remaining{product=\"" + std::to_string(product) + "\"} 0"));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_metrics_source_up{source="admit"} 1)"));
  CHECK_THAT(text, Catch::Contains("flashsale_outbox_backlog 1"));  // no relay worker runs here
  CHECK_THAT(text, Catch::Contains(R"(flashsale_metrics_source_up{source="relay"} 1)"));
  CHECK_THAT(text, Catch::Contains("flashsale_relay_dead_lettered_total 0"));
  CHECK_THAT(text, Catch::Contains("flashsale_outbox_dead_letters_replayed_total 0"));
}

TEST_CASE("a scrape reads at most kMaxProductsPerScrape products", "[metrics]") {
  Api api;
  for (unsigned i = 0; i < flashsale::kMaxProductsPerScrape + 3; ++i) api.create_product(1);
  std::string text = api.call("GET", "/metrics").body;
  CHECK(occurrences(text, "flashsale_orders_created_total{") == flashsale::kMaxProductsPerScrape);
  CHECK_THAT(text, Catch::Contains("flashsale_orders_created_total{product=\"1\"}"));
  CHECK_THAT(text, !Catch::Contains("product=\"" + std::to_string(flashsale::kMaxProductsPerScrape + 1) + "\""));
}

TEST_CASE("GET /metrics counts buys by product, and only for products that exist", "[metrics]") {
  Api api;
  std::int64_t hot = api.create_product(2);
  std::int64_t other = api.create_product(5);
  for (std::int64_t product : {hot, other}) {
    REQUIRE(api.call("POST", "/api/flash_sale/preload/" + std::to_string(product), "", kAdmin).status == 200);
  }
  REQUIRE(buy(api, hot, 1).status == 202);
  REQUIRE(buy(api, hot, 1).status == 409);  // already purchased
  REQUIRE(buy(api, hot, 2).status == 202);
  REQUIRE(buy(api, hot, 3).status == 409);  // sold out
  REQUIRE(buy(api, other, 1).status == 202);
  REQUIRE(buy(api, 987654, 1).status == 404);  // no such product
  std::string text = api.call("GET", "/metrics").body;
  auto series = [](std::int64_t product, const char* outcome) {
    return "flashsale_product_buy_requests_total{product=\"" + std::to_string(product) + "\",outcome=\"" + outcome +
           "\"} ";
  };
  CHECK_THAT(text, Catch::Contains(series(hot, "accepted") + "2"));
  CHECK_THAT(text, Catch::Contains(series(hot, "already_purchased") + "1"));
  CHECK_THAT(text, Catch::Contains(series(hot, "sold_out") + "1"));
  CHECK_THAT(text, Catch::Contains(series(hot, "rate_limited") + "0"));
  CHECK_THAT(text, Catch::Contains(series(other, "accepted") + "1"));
  CHECK_THAT(text, Catch::Contains(series(other, "sold_out") + "0"));
  CHECK_THAT(text, !Catch::Contains("product=\"987654\""));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_buy_requests_total{outcome="accepted"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(flashsale_buy_requests_total{outcome="not_found"} 1)"));
}

TEST_CASE("per-product buy counts: a refusal before the lookup adds no product, and at most kMaxProducts have counts",
          "[metrics]") {
  flashsale::ProductOutcomes outcomes;
  flashsale::ProductOutcomes::Counts counts{};
  outcomes.count(7, flashsale::Code::invalid_argument, /*add=*/false);
  CHECK_FALSE(outcomes.counts(7, &counts));
  outcomes.count(7, flashsale::Code::ok, /*add=*/true);
  outcomes.count(7, flashsale::Code::invalid_argument, /*add=*/false);
  REQUIRE(outcomes.counts(7, &counts));
  CHECK(counts[static_cast<std::size_t>(flashsale::Code::ok)] == 1);
  CHECK(counts[static_cast<std::size_t>(flashsale::Code::invalid_argument)] == 1);

  // 7 and 100 .. 100 + kMaxProducts - 2 fill it: the next is not counted.
  for (std::int64_t id = 100; id < 100 + std::int64_t{flashsale::ProductOutcomes::kMaxProducts} - 1; ++id) {
    outcomes.count(id, flashsale::Code::ok, /*add=*/true);
  }
  const std::int64_t past = 100 + std::int64_t{flashsale::ProductOutcomes::kMaxProducts} - 1;
  outcomes.count(past, flashsale::Code::ok, /*add=*/true);
  CHECK_FALSE(outcomes.counts(past, &counts));
  CHECK(outcomes.counts(100, &counts));
  outcomes.count(7, flashsale::Code::ok, /*add=*/true);  // a product that has counts keeps counting
  REQUIRE(outcomes.counts(7, &counts));
  CHECK(counts[static_cast<std::size_t>(flashsale::Code::ok)] == 2);
}
