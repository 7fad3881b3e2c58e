// The keys plugins declare in their descriptors: resolved like core's
// (variable over file over default), checked at start-up with one line, the
// file's unread keys reported, and every declared key of the in-tree plugins
// documented in its family's README (plugins/<family>/README.md) with a
// variable that reaches the backend, as core's keys are in the README.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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

// Every `| key | VARIABLE |` row of the tables of a page of the source tree
// (a table's header row, the one above its `|---` line, is not a row).
std::map<std::string, std::string> documented_variables(const std::string& page) {
  std::ifstream in(test::source_dir() + "/" + page);
  INFO(page);
  REQUIRE(in.is_open());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::map<std::string, std::string> rows;
  std::regex row(R"(^\| ([a-z0-9.&;<>]+) \| ([A-Za-z0-9_&;<>]+) \|)");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    bool header = i + 1 < lines.size() && lines[i + 1].rfind("|---", 0) == 0;
    std::smatch match;
    if (!header && std::regex_search(lines[i], match, row)) rows[match[1]] = match[2];
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

TEST_CASE("every key an in-tree plugin declares is in its family's README and its variable reaches the backend",
          "[config][plugins]") {
  Config config = bare_config();
  config.plugin_dir = test::plugin_dir();
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

  // Each family's README documents exactly the keys it declares; each variable
  // set to a value of its own must come out under its key.
  std::map<std::string, std::map<std::string, std::string>> documented;
  for (const std::string& family : families) documented[family] = documented_variables("plugins/" + family + "/README.md");
  std::map<std::string, std::string> environment;
  for (const DeclaredSetting& setting : declared) {
    std::string key = setting.spec.key;
    bool prefix = setting.spec.kind == SettingSpec::Kind::prefix;
    std::string readme_key = prefix ? key + "&lt;property&gt;" : key;
    std::map<std::string, std::string>& rows = documented[setting.family];
    INFO(key << " declared by " << setting.family);
    REQUIRE(rows.count(readme_key) == 1);
    std::string variable = Settings::env_name(key);
    CHECK(rows[readme_key] == (prefix ? variable + "&lt;PROPERTY&gt;" : variable));
    rows.erase(readme_key);
    environment[prefix ? variable + "TEST_PROPERTY" : variable] = "7";
  }
  for (const auto& [family, undeclared] : documented) {
    for (const auto& [key, variable] : undeclared) {
      FAIL_CHECK("plugins/" << family << "/README.md documents " << key << ", which the family does not declare");
    }
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

TEST_CASE("the README's configuration table holds exactly core's keys with their variables", "[config]") {
  std::map<std::string, std::string> documented = documented_variables("README.md");
  for (const KnownKey& known : known_keys()) {
    std::string key = known.key;
    INFO(key);
    REQUIRE(documented.count(key) == 1);
    CHECK(documented[key] == Settings::env_name(key));
    documented.erase(key);
  }
  // The one key that is a pattern: a family's file (plugin.mine.path).
  CHECK(documented["plugin.&lt;family&gt;.path"] == "PLUGIN_&lt;FAMILY&gt;_PATH");
  documented.erase("plugin.&lt;family&gt;.path");
  for (const auto& [key, variable] : documented) {
    FAIL_CHECK("README.md documents " << key << ", which core does not declare");
  }
}

}  // namespace flashsale
