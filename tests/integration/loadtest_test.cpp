// The load test binary against the real server: a short stampede with double
// clicks and idempotent resends, then the order lifecycle (pay, cancel,
// expire, buy again), every invariant checked by the tool itself.
#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>

#include <fstream>
#include <sstream>

#include "integration/sale_fixture.h"

using namespace flashsale::test;

TEST_CASE("flashsale-loadtest finds every invariant holding on the embedded profile", "[e2e][loadtest]") {
  EmbeddedServer server;
  TempDir dir;
  std::string json_file = dir.file("report.json");
  std::string output;
  int code =
      run_command({build_dir() + "/bin/flashsale-loadtest", "-addr", "127.0.0.1:" + std::to_string(server.port()),
                   "-create-stock", "200", "-users", "3000", "-c", "16", "-dup-ratio", "0.1", "-retry-ratio", "0.1",
                   "-wait", "60", "-rate", "3000", "-json", json_file},
                  &output, 180000);
  INFO(output);
  REQUIRE(code == 0);
  CHECK_THAT(output, Catch::Contains("invariants: all hold"));

  std::ifstream in(json_file);
  std::stringstream text;
  text << in.rdbuf();
  auto report = Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
  CHECK(report->getValue<int>("success") == 200);
  CHECK(report->getValue<int>("not_final") == 0);
  CHECK(report->getArray("violations")->size() == 0);
  CHECK(report->getObject("status")->getValue<int>("202") >= 200);
  CHECK(server.stop() == 0);
}

TEST_CASE("flashsale-loadtest refuses bad flags with exit code 2", "[loadtest]") {
  std::string output;
  CHECK(run_command({build_dir() + "/bin/flashsale-loadtest", "-users", "ten", "-product", "1"}, &output, 10000) == 2);
  CHECK_THAT(output, Catch::Contains("-users"));
  CHECK(run_command(
            {build_dir() + "/bin/flashsale-loadtest", "-product", "1", "-pay-ratio", "0.7", "-cancel-ratio", "0.5"},
            &output, 10000) == 2);
  CHECK_THAT(output, Catch::Contains("must not exceed 1"));
  CHECK(run_command({build_dir() + "/bin/flashsale-loadtest", "-create-stock", "5", "-stock-shards", "65"}, &output,
                    10000) == 2);
  CHECK_THAT(output, Catch::Contains("-stock-shards"));
  CHECK(run_command({build_dir() + "/bin/flashsale-loadtest", "-product", "1", "-stock-shards", "3"}, &output, 10000) ==
        2);
  CHECK_THAT(output, Catch::Contains("-stock-shards needs -create-stock"));
}

namespace {

// The load test with the order lifecycle against `server`; its exit code,
// its output in *output and its JSON report in *report.
int run_lifecycle(EmbeddedServer& server, const std::vector<std::string>& flags, std::string* output,
                  Poco::JSON::Object::Ptr* report) {
  TempDir dir;
  std::string json_file = dir.file("report.json");
  std::vector<std::string> argv = {build_dir() + "/bin/flashsale-loadtest", "-addr",
                                   "127.0.0.1:" + std::to_string(server.port()), "-json", json_file};
  argv.insert(argv.end(), flags.begin(), flags.end());
  int code = run_command(argv, output, 180000);
  std::ifstream in(json_file);
  std::stringstream text;
  text << in.rdbuf();
  if (!text.str().empty()) *report = Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
  return code;
}

}  // namespace

TEST_CASE("flashsale-loadtest pays and cancels and lets orders expire with every lifecycle invariant holding",
          "[e2e][loadtest]") {
  EmbeddedServer server(
      std::map<std::string, std::string>{{"ORDER_PAYMENT_TIMEOUT_SEC", "2"}, {"ORDER_EXPIRY_SCAN_MS", "100"}});
  std::string output;
  Poco::JSON::Object::Ptr report;
  int code = run_lifecycle(server,
                           {"-create-stock", "100", "-users", "400", "-c", "8", "-dup-ratio", "0.1", "-retry-ratio",
                            "0.1", "-pay-ratio", "0.5", "-cancel-ratio", "0.2", "-wait", "30"},
                           &output, &report);
  INFO(output);
  REQUIRE(code == 0);
  CHECK_THAT(output, Catch::Contains("lifecycle: orders 100 (pay 50, cancel 20, leave 30)"));
  CHECK_THAT(output, Catch::Contains("invariants: all hold"));
  REQUIRE(report);
  CHECK(report->getValue<int>("success") == 100);
  auto lifecycle = report->getObject("lifecycle");
  auto figure = [&](const std::string& key) { return lifecycle->getValue<int>(key); };
  CHECK(figure("orders") == 100);
  CHECK(figure("unanswered_moves") == 0);
  // Every pay either paid its order or came at its deadline and lost to the expiry.
  CHECK(figure("paid") + figure("pays_lost_to_expiry") == 50);
  // A cancel sent in the deadline's last instant may find the order already expired.
  CHECK(figure("cancelled_by_user") <= 20);
  CHECK(figure("expired") >= 30);
  CHECK(figure("paid") + figure("cancelled_by_user") + figure("expired") == 100);
  // Every buyer whose order was cancelled bought again and cancelled again.
  CHECK(figure("rebought") == figure("cancelled_by_user") + figure("expired"));
  CHECK(figure("returns") == 100 - figure("paid") + figure("rebought"));
  CHECK(figure("stock_returned") == figure("quantity_cancelled"));
  CHECK(figure("admit_remaining") == 100 - figure("paid"));
  CHECK(report->getArray("violations")->size() == 0);
  CHECK(server.stop() == 0);
}

// A server that scans for expired orders once an hour keeps unpaid orders
// past their deadline: the load test, waiting a second for them, says so.
TEST_CASE("flashsale-loadtest reports orders left unpaid past their deadline", "[e2e][loadtest]") {
  EmbeddedServer server(
      std::map<std::string, std::string>{{"ORDER_PAYMENT_TIMEOUT_SEC", "1"}, {"ORDER_EXPIRY_SCAN_MS", "3600000"}});
  std::string output;
  Poco::JSON::Object::Ptr report;
  int code = run_lifecycle(
      server,
      {"-create-stock", "20", "-users", "40", "-c", "4", "-pay-ratio", "0.5", "-cancel-ratio", "0.2", "-wait", "1"},
      &output, &report);
  INFO(output);
  CHECK(code == 1);
  CHECK_THAT(output, Catch::Contains("VIOLATION: orders not final after their deadline and the wait: 6 ("));
  REQUIRE(report);
  CHECK(report->getArray("violations")->size() == 1);
  CHECK(server.stop() == 0);
}
