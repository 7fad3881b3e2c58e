// The keys plugins declare in their descriptors: resolved like core's
// (variable over file over default), checked at start-up with one line, the
// file's unread keys reported, and every declared key of the in-tree plugins
// documented in the README with a variable that reaches the backend.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "host/config.h"
#include "host/declared_settings.h"
#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "support/temp_dir.h"

namespace flashsale {

namespace {

Config bare_config(std::map<std::string, std::string> environment = {}) {
  char* no_env[] = {nullptr};
  Config config = load_config("", no_env, ".");
  config.environment = std::move(environment);
  return config;
}

std::string resolve_error(const std::vector<DeclaredSetting>& declared, Config config) {
  try {
    resolve_declared_settings(declared, &config);
  } catch (const StartupError& e) {
    return e.what();
  }
  return "(no error)";
}

// Every `| key | VARIABLE |` row of the README's tables.
std::map<std::string, std::string> readme_variables() {
  std::ifstream in(test::source_dir() + "/README.md");
  std::map<std::string, std::string> rows;
  std::regex row(R"(^\| ([a-z0-9.&;<>]+) \| ([A-Za-z0-9_&;<>]+) \|)");
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, row)) rows[match[1]] = match[2];
  }
  return rows;
}

}  // namespace

TEST_CASE("a declared key takes its variable over the file over its default", "[config][plugins]") {
  std::vector<DeclaredSetting> declared = {
      {SettingSpec::integer("mine.batch", "8", 1, 100, "batch"), "mine"},
      {SettingSpec::text("mine.name", "default-name", "name"), "mine"},
      {SettingSpec::text("mine.path", "", "path"), "mine"},
  };
  Config config = bare_config({{"MINE_BATCH", "42"}});
  config.settings.set("mine.name", "from-file");
  resolve_declared_settings(declared, &config);
  CHECK(config.settings.get("mine.batch") == "42");
  CHECK(config.settings.get("mine.name") == "from-file");
  CHECK(config.settings.has("mine.path"));
  CHECK(config.settings.get("mine.path").empty());
}

TEST_CASE("a prefix passes every variable under it through as a key", "[config][plugins]") {
  std::vector<DeclaredSetting> declared = {{SettingSpec::prefix("kafka.producer.", "librdkafka"), "kafka"}};
  Config config = bare_config({{"KAFKA_PRODUCER_LINGER_MS", "5"}, {"KAFKA_PRODUCER_COMPRESSION_TYPE", "lz4"},
                               {"KAFKA_PRODUCER_", "ignored"}, {"KAFKA_PRODUCERX", "ignored"}});
  resolve_declared_settings(declared, &config);
  CHECK(config.settings.get("kafka.producer.linger.ms") == "5");
  CHECK(config.settings.get("kafka.producer.compression.type") == "lz4");
  CHECK_FALSE(config.settings.has("kafka.producer."));
}

TEST_CASE("a bad declared value stops start-up naming the key its variable and the plugin", "[config][plugins]") {
  std::vector<DeclaredSetting> declared = {
      {SettingSpec::integer("mine.batch", "8", 1, 100, "batch"), "mine"},
      {SettingSpec::required("mine.dsn", "x", "dsn"), "mine"},
  };
  CHECK(resolve_error(declared, bare_config({{"MINE_BATCH", "0"}})) ==
        "mine.batch (MINE_BATCH): expected an integer in [1, 100], got '0' (declared by the mine plugin)");
  CHECK(resolve_error(declared, bare_config({{"MINE_BATCH", "lots"}})).rfind("mine.batch (MINE_BATCH)", 0) == 0);
  CHECK(resolve_error(declared, bare_config({{"MINE_DSN", ""}})) ==
        "mine.dsn (MINE_DSN, declared by the mine plugin): must not be empty");

  std::vector<DeclaredSetting> disagreeing = {{SettingSpec::text("shared.key", "a", ""), "one"},
                                              {SettingSpec::text("shared.key", "b", ""), "two"}};
  CHECK_THAT(resolve_error(disagreeing, bare_config()), Catch::Contains("shared.key: declared by the one and the two"));
}

TEST_CASE("a file key neither core nor a loaded plugin reads is reported", "[config][plugins]") {
  test::TempDir dir;
  std::string file = dir.file("flashsale.properties");
  std::ofstream(file) << "stage.persist = sqlite\ndb.path = " << dir.file("orders.db")
                      << "\ndb.checkpoint.pages = 50\nredis.adr = typo\nbuy.rate.limit = 5\n";
  char* no_env[] = {nullptr};
  Config config = load_config(file, no_env, ".");
  config.plugin_dir = test::plugin_dir();
  for (StageKind stage : kAllStages) {
    if (stage != StageKind::persist) config.stage_backend[static_cast<int>(stage)] = "memory";
  }
  PluginHost host(config);
  host.make_stages();
  REQUIRE(host.warnings().size() == 1);
  CHECK_THAT(host.warnings()[0], Catch::Contains("unknown key redis.adr"));
  CHECK(host.settings().get("db.checkpoint.pages") == "50");
}

TEST_CASE("every key the in-tree plugins declare is in the README and its variable reaches the backend",
          "[config][plugins]") {
  Config config = bare_config();
  config.plugin_dir = test::plugin_dir();
  std::map<std::string, std::string> documented = readme_variables();
  std::set<std::string> families;
  std::vector<DeclaredSetting> declared;
  std::vector<FoundPlugin> found = find_plugins(config);
  for (const FoundPlugin& plugin : found) {
    INFO(plugin.path << ": " << plugin.error);
    REQUIRE(plugin.error.empty());
    families.insert(plugin.family);
    for (const FoundPlugin::Key& key : plugin.keys) {
      SettingSpec spec = key.prefix ? SettingSpec::prefix(key.key.c_str(), "")
                                    : SettingSpec::text(key.key.c_str(), key.fallback.c_str(), "");
      declared.push_back({spec, plugin.family});
    }
  }
  for (const char* family : {"memory", "sqlite", "redis", "kafka"}) CHECK(families.count(family) == 1);

  // Each variable set to a value of its own; each must come out under its key.
  std::map<std::string, std::string> environment;
  for (const DeclaredSetting& setting : declared) {
    std::string key = setting.spec.key;
    bool prefix = setting.spec.kind == SettingSpec::Kind::prefix;
    std::string readme_key = prefix ? key + "&lt;property&gt;" : key;
    INFO(key << " declared by " << setting.family);
    REQUIRE(documented.count(readme_key) == 1);
    std::string variable = Settings::env_name(key);
    CHECK(documented[readme_key] == (prefix ? variable + "&lt;PROPERTY&gt;" : variable));
    environment[prefix ? variable + "TEST_PROPERTY" : variable] = "7";
  }
  config.environment = environment;
  resolve_declared_settings(declared, &config);
  for (const DeclaredSetting& setting : declared) {
    std::string key = setting.spec.key;
    if (setting.spec.kind == SettingSpec::Kind::prefix) key += "test.property";
    INFO(key);
    CHECK(config.settings.get(key) == "7");
  }
}

}  // namespace flashsale
