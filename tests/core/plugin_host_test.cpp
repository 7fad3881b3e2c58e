#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "flashsale/plugin.h"
#include "host/config.h"
#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "support/temp_dir.h"
#include "support/test_logger.h"

using flashsale::Config;
using flashsale::FoundPlugin;
using flashsale::PluginHost;
using flashsale::StageKind;
using flashsale::StartupError;

namespace {

// Every stage on the memory family, from the build's plugin directory.
Config memory_config() {
  char* no_env[] = {nullptr};
  Config config = flashsale::load_config("", no_env, ".");
  config.plugin_dir = flashsale::test::plugin_dir();
  for (StageKind stage : flashsale::kAllStages) config.stage_backend[static_cast<int>(stage)] = "memory";
  return config;
}

void use_fixture(Config* config, StageKind stage, const std::string& family, const std::string& file) {
  config->stage_backend[static_cast<int>(stage)] = family;
  config->settings.set("plugin." + family + ".path", std::string(FIXTURE_PLUGIN_DIR) + "/" + file);
}

// Puts a fixture into `folder` under a plugin's file name.
std::string place_fixture(const std::string& folder, const std::string& fixture, const std::string& family) {
  std::filesystem::create_directories(folder);
  std::string path = folder + "/flashsale-" + family + ".so";
  std::filesystem::copy_file(std::string(FIXTURE_PLUGIN_DIR) + "/" + fixture, path);
  return path;
}

// A file named like a plugin that is not an ELF file at all.
std::string place_junk(const std::string& folder, const std::string& family) {
  std::filesystem::create_directories(folder);
  std::string path = folder + "/flashsale-" + family + ".so";
  std::ofstream out(path);
  for (int i = 0; i < 100; ++i) out << "this is not a shared object\n";
  return path;
}

std::string startup_error(const Config& config) {
  try {
    PluginHost host(config);
    host.make_stages();
  } catch (const StartupError& e) {
    std::string message = e.what();
    CHECK(message.find('\n') == std::string::npos);
    return message;
  }
  FAIL("the host accepted the config");
  return {};
}

}  // namespace

TEST_CASE("all six stages load from one family, each family once", "[plugin_host]") {
  flashsale::Stages stages;
  {
    PluginHost host(memory_config());
    stages = host.make_stages();
  }  // the host is gone; the stages keep the library loaded
  REQUIRE(stages.ratelimit);
  REQUIRE(stages.admission);
  REQUIRE(stages.outbox);
  REQUIRE(stages.relay);
  REQUIRE(stages.store);
  REQUIRE(stages.notifier);
  bool allowed = false;
  CHECK(stages.ratelimit->allow("u:1", &allowed).is_ok());
  CHECK(allowed);
}

TEST_CASE("an unknown backend name is refused naming the key and the folders searched", "[plugin_host]") {
  flashsale::test::TempDir empty;
  Config config = memory_config();
  config.plugin_dir = empty.path() + "::" + flashsale::test::plugin_dir();
  config.stage_backend[static_cast<int>(StageKind::ratelimit)] = "bogus";
  CHECK(startup_error(config) ==
        "stage.ratelimit (STAGE_RATELIMIT): unknown backend 'bogus': no plugin of that family in " + empty.path() +
            ", " + flashsale::test::plugin_dir() + " and no plugin.bogus.path");

  config.plugin_dir = "";
  CHECK(startup_error(config) ==
        "stage.ratelimit (STAGE_RATELIMIT): unknown backend 'bogus': no plugin of that family "
        "(plugin.dir is empty) and no plugin.bogus.path");
}

TEST_CASE("a plugin path naming no file is refused naming the file", "[plugin_host]") {
  flashsale::test::TempDir empty;
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::persist)] = "mine";
  config.settings.set("plugin.mine.path", empty.file("flashsale-mine.so"));
  CHECK(startup_error(config) ==
        "plugin " + empty.file("flashsale-mine.so") + ": file not found (named by plugin.mine.path)");
}

TEST_CASE("a family is found by its descriptor whatever its file is called", "[plugin_host]") {
  flashsale::test::TempDir dir;
  std::string renamed = place_fixture(dir.file("good"), "failing.so", "anything");
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::persist)] = "failing";
  const std::string memory = ":" + flashsale::test::plugin_dir();
  config.plugin_dir = dir.file("none") + ":" + dir.file("good") + memory;
  CHECK(startup_error(config) ==
        "plugin " + renamed + ": backend 'failing' did not start: failing.mode is not 'empty'");

  // A file that does not load says why when no other file is the family's.
  std::string junk = place_junk(dir.file("junk"), "failing");
  config.plugin_dir = dir.file("junk") + memory;
  CHECK_THAT(startup_error(config), Catch::StartsWith("plugin " + junk + ": cannot be loaded"));
  config.plugin_dir = dir.file("junk") + ":" + dir.file("good") + memory;
  CHECK_THAT(startup_error(config), Catch::StartsWith("plugin " + renamed + ": backend 'failing' did not start"));
}

TEST_CASE("two plugins claiming one family are refused naming both", "[plugin_host]") {
  flashsale::test::TempDir dir;
  std::string first = place_fixture(dir.file("a"), "failing.so", "failing");
  std::string second = place_fixture(dir.file("b"), "failing.so", "failing-copy");
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::persist)] = "failing";
  config.plugin_dir = dir.file("a") + ":" + dir.file("b") + ":" + dir.file("a") + ":" + flashsale::test::plugin_dir();
  CHECK(startup_error(config) == "stage.persist (STAGE_PERSIST): two plugins claim family 'failing': " + first +
                                     " and " + second + " (remove one, or name one with plugin.failing.path)");

  config.settings.set("plugin.failing.path", second);  // naming one settles it
  CHECK_THAT(startup_error(config), Catch::StartsWith("plugin " + second + ": backend 'failing' did not start"));
}

TEST_CASE("a file that is not a shared object is refused with the loader's reason", "[plugin_host]") {
  flashsale::test::TempDir dir;
  std::string junk = place_junk(dir.path(), "junk");
  Config config = memory_config();
  config.plugin_dir = dir.path() + ":" + flashsale::test::plugin_dir();
  config.stage_backend[static_cast<int>(StageKind::relay)] = "junk";
  CHECK(startup_error(config) == "plugin " + junk + ": cannot be loaded: invalid ELF header");
}

TEST_CASE("a plugin with an undefined symbol is refused naming the symbol", "[plugin_host]") {
  Config config = memory_config();
  use_fixture(&config, StageKind::relay, "undefined", "undefined_symbol.so");
  CHECK(startup_error(config) == "plugin " + std::string(FIXTURE_PLUGIN_DIR) +
                                     "/undefined_symbol.so: cannot be loaded: undefined symbol: "
                                     "flashsale_fixture_defined_nowhere");
}

TEST_CASE("a shared object without the factory symbol is refused", "[plugin_host]") {
  Config config = memory_config();
  use_fixture(&config, StageKind::relay, "nosymbol", "no_symbol.so");
  std::string message = startup_error(config);
  CHECK_THAT(message, Catch::Contains("no_symbol.so") && Catch::Contains("exports no flashsale_plugin symbol"));
}

TEST_CASE("an ABI version mismatch is refused with both versions", "[plugin_host]") {
  Config config = memory_config();
  use_fixture(&config, StageKind::persist, "abimismatch", "abi_mismatch.so");
  std::string message = startup_error(config);
  const std::string ours = std::to_string(flashsale::kPluginAbiVersion);
  const std::string theirs = std::to_string(flashsale::kPluginAbiVersion + 998);
  CHECK_THAT(message, Catch::Contains("abi_mismatch.so") && Catch::Contains("ABI version " + theirs) &&
                          Catch::Contains("needs version " + ours));
}

TEST_CASE("a plugin compiled against changed headers without an ABI bump is refused by their hash", "[plugin_host]") {
  Config config = memory_config();
  use_fixture(&config, StageKind::persist, "changedheaders", "changed_headers.so");
  std::string message = startup_error(config);
  char ours[17];
  std::snprintf(ours, sizeof ours, "%016llx", static_cast<unsigned long long>(flashsale::kPluginHeaderHash));
  CHECK_THAT(message, Catch::Contains("changed_headers.so") && Catch::Contains("built against other plugin headers") &&
                          Catch::Contains(std::string("this host's ") + ours));
  CHECK_THAT(message, !Catch::Contains("ABI version"));  // the version alone would have let it in
}

TEST_CASE("admit and outbox from different families are refused", "[plugin_host]") {
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::outbox)] = "redis";
  std::string message = startup_error(config);
  CHECK_THAT(message, Catch::StartsWith("stage.outbox (STAGE_OUTBOX): must be the same backend family as "
                                        "stage.admit ('memory'), got 'redis'"));

  config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::notify)] = "sqlite";
  CHECK_THAT(startup_error(config), Catch::StartsWith("stage.notify (STAGE_NOTIFY): must be the same"));
}

TEST_CASE("a backend that fails to start, or lacks a stage, is named", "[plugin_host]") {
  Config config = memory_config();
  use_fixture(&config, StageKind::persist, "failing", "failing.so");
  CHECK_THAT(startup_error(config),
             Catch::Contains("failing.so") && Catch::Contains("did not start: failing.mode is not 'empty'"));

  config.settings.set("failing.mode", "silent");
  CHECK(startup_error(config) ==
        "plugin " + std::string(FIXTURE_PLUGIN_DIR) + "/failing.so: backend 'failing' did not start: gave no reason");

  config.settings.set("failing.mode", "empty");
  CHECK_THAT(startup_error(config), Catch::StartsWith("stage.persist (STAGE_PERSIST): backend 'failing'") &&
                                        Catch::Contains("does not provide the persist stage"));
}

TEST_CASE("a backend logs through the logger the host hands it", "[plugin_host]") {
  Config config = memory_config();
  use_fixture(&config, StageKind::persist, "failing", "failing.so");
  config.settings.set("failing.mode", "empty");
  flashsale::test::TestLogger logger;
  PluginHost host(config, logger.services());
  CHECK_THROWS_AS(host.make_stages(), StartupError);  // it provides no stage, after starting
  CHECK(logger.lines() == std::vector<std::string>{"failing: started with no stage"});
}

TEST_CASE("a plugin reporting another family than the config asked for is refused", "[plugin_host]") {
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::relay)] = "elsewhere";
  config.settings.set("plugin.elsewhere.path", flashsale::test::plugin_dir() + "/flashsale-memory.so");
  CHECK_THAT(startup_error(config), Catch::Contains("provides family 'memory', config asked for 'elsewhere'"));
}

TEST_CASE("the plugins on the search path are listed in the order the host looks", "[plugin_host]") {
  flashsale::test::TempDir dir;
  std::string first = place_fixture(dir.file("a"), "failing.so", "failing");
  std::string junk = place_junk(dir.file("a"), "junk");
  std::string abi = place_fixture(dir.file("a"), "abi_mismatch.so", "abimismatch");
  std::string later = place_fixture(dir.file("b"), "failing.so", "failing");
  std::string renamed = place_fixture(dir.file("b"), "failing.so", "renamed");
  std::ofstream(dir.file("b/not-a-plugin.so")) << "ignored";
  Config config = memory_config();
  config.plugin_dir = dir.file("a") + ":" + dir.file("missing") + ":" + dir.file("b");
  config.settings.set("plugin.mine.path", dir.file("nowhere.so"));

  std::vector<FoundPlugin> found = flashsale::find_plugins(config);
  REQUIRE(found.size() == 6);
  CHECK(found[0].family == "mine");
  CHECK(found[0].named);
  CHECK(found[0].error == "file not found");
  CHECK(found[1].family == "abimismatch");
  CHECK(found[1].path == abi);
  CHECK(found[1].abi_version == flashsale::kPluginAbiVersion + 998);
  CHECK_THAT(found[1].error, Catch::StartsWith("ABI version "));
  CHECK(found[2].family == "failing");
  CHECK(found[2].path == first);
  CHECK(found[2].abi_version == flashsale::kPluginAbiVersion);
  CHECK(found[2].error == "family 'failing' is also claimed by " + later);
  CHECK(found[3].family == "junk");
  CHECK(found[3].path == junk);
  CHECK(found[3].error == "cannot be loaded: invalid ELF header");
  CHECK(found[4].path == later);
  CHECK(found[4].error == "family 'failing' is also claimed by " + first);
  CHECK(found[5].family == "failing");  // its descriptor's, not its file name's
  CHECK(found[5].path == renamed);
  CHECK(found[5].error == "family 'failing' is also claimed by " + first);
}

TEST_CASE("each built plugin exports its descriptor and no other symbol", "[plugin_host]") {
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(flashsale::test::plugin_dir())) {
    std::string name = entry.path().filename().string();
    if (name.rfind("flashsale-", 0) != 0 || entry.path().extension() != ".so") continue;
    std::string command = "nm -D --defined-only --format=posix '" + entry.path().string() + "'";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::vector<std::string> symbols;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
      std::string text(line);
      symbols.push_back(text.substr(0, text.find(' ')));
    }
    REQUIRE(::pclose(pipe) == 0);
    INFO(name);
    CHECK(symbols == std::vector<std::string>{"flashsale_plugin"});
    ++checked;
  }
  CHECK(checked >= 1);  // the memory family at least
}
