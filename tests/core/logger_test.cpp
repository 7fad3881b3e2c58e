#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "host/config.h"
#include "host/startup_error.h"
#include "host/stderr_logger.h"

using flashsale::LogFormat;
using flashsale::LogLevel;
using flashsale::StderrLogger;

namespace {

// What `logger` wrote to `file` so far.
std::string written(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

flashsale::Config config_with(std::vector<std::string> env) {
  std::vector<char*> pointers;
  for (std::string& entry : env) pointers.push_back(entry.data());
  pointers.push_back(nullptr);
  return flashsale::load_config("", pointers.data(), ".");
}

}  // namespace

TEST_CASE("a json log line is one object with ts level component msg and request_id", "[logger]") {
  std::string line = StderrLogger::line(LogFormat::json, LogLevel::warning, "kafka consumer", "01abc",
                                        "broker \"b1\" down\nretrying");
  CHECK(line.find('\n') == std::string::npos);
  auto json = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
  CHECK(json->getValue<std::string>("level") == "warning");
  CHECK(json->getValue<std::string>("component") == "kafka consumer");
  CHECK(json->getValue<std::string>("msg") == "broker \"b1\" down\nretrying");
  CHECK(json->getValue<std::string>("request_id") == "01abc");
  std::string ts = json->getValue<std::string>("ts");
  CHECK(ts.size() >= 20);
  CHECK(ts.back() == 'Z');
  CHECK_FALSE(Poco::JSON::Parser().parse(StderrLogger::line(LogFormat::json, LogLevel::info, "c", "", "m"))
                  .extract<Poco::JSON::Object::Ptr>()
                  ->has("request_id"));
}

TEST_CASE("a text log line names the level and component", "[logger]") {
  CHECK(StderrLogger::line(LogFormat::text, LogLevel::error, "relay-worker", "", "publish: timed out") ==
        "flashsale-server: error: relay-worker: publish: timed out");
  CHECK(StderrLogger::line(LogFormat::text, LogLevel::info, "notify", "r1", "done") ==
        "flashsale-server: info: notify: done (request r1)");
}

TEST_CASE("events below log.level are dropped", "[logger]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  StderrLogger logger(file);
  logger.configure(LogFormat::json, LogLevel::warning);
  logger.log(LogLevel::info, "c", "quiet");
  logger.log(LogLevel::debug, "c", "quieter");
  logger.log_request(LogLevel::error, "c", "r9", "loud");
  std::string text = written(file);
  std::fclose(file);
  CHECK(text.find("quiet") == std::string::npos);
  CHECK(text.find("\"msg\":\"loud\"") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("log.format and log.level come from the environment and a bad value stops start-up", "[logger]") {
  flashsale::Config config = config_with({"LOG_FORMAT=json", "LOG_LEVEL=debug"});
  CHECK(config.log_format == LogFormat::json);
  CHECK(config.log_level == LogLevel::debug);
  CHECK_THROWS_WITH(config_with({"LOG_FORMAT=xml"}), Catch::Contains("log.format") && Catch::Contains("xml"));
  CHECK_THROWS_WITH(config_with({"LOG_LEVEL=loud"}), Catch::Contains("log.level") && Catch::Contains("loud"));
}
