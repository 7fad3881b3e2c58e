// The load test binary against the real server: a short stampede with double
// clicks and idempotent resends, every invariant checked by the tool itself.
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
}
