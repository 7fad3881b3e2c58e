#include <catch2/catch.hpp>

#include <string>

#include "core/api_harness.h"
#include "metrics/metrics_registry.h"
#include "metrics/pipeline_metrics.h"
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
  auto buy = [&](int user) {
    return api.call("POST", "/api/flash_sale/buy",
                    R"({"user_id":)" + std::to_string(user) + R"(,"product_id":)" + std::to_string(product) +
                        R"(,"quantity":1})");
  };
  REQUIRE(buy(1).status == 202);
  REQUIRE(buy(2).status == 409);  // sold out
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
