#include <catch2/catch.hpp>

#include "flashsale/plugin.h"
#include "host/config.h"
#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "support/temp_dir.h"

using flashsale::Config;
using flashsale::PluginHost;
using flashsale::StageKind;
using flashsale::StartupError;

namespace {

// Every stage on the memory family, from the build's plugin directory.
Config memory_config() {
  char* no_env[] = {nullptr};
  Config config = flashsale::load_config("", no_env, ".", nullptr);
  config.plugin_dir = flashsale::test::plugin_dir();
  for (StageKind stage : flashsale::kAllStages) config.stage_backend[static_cast<int>(stage)] = "memory";
  return config;
}

void use_fixture(Config* config, StageKind stage, const std::string& family, const std::string& file) {
  config->stage_backend[static_cast<int>(stage)] = family;
  config->settings.set("plugin." + family + ".path", std::string(FIXTURE_PLUGIN_DIR) + "/" + file);
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

TEST_CASE("an unknown backend name is refused naming the key", "[plugin_host]") {
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::ratelimit)] = "bogus";
  std::string message = startup_error(config);
  CHECK_THAT(message, Catch::StartsWith("stage.ratelimit (STAGE_RATELIMIT): unknown backend 'bogus'"));
}

TEST_CASE("a missing shared object is refused naming the file", "[plugin_host]") {
  flashsale::test::TempDir empty;
  Config config = memory_config();
  config.plugin_dir = empty.path();
  std::string message = startup_error(config);
  CHECK_THAT(message, Catch::Contains(empty.path() + "/flashsale-memory.so") && Catch::Contains("not found"));
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

  config.settings.set("failing.mode", "empty");
  CHECK_THAT(startup_error(config), Catch::StartsWith("stage.persist (STAGE_PERSIST): backend 'failing'") &&
                                        Catch::Contains("does not provide the persist stage"));
}

TEST_CASE("a plugin reporting another family than the config asked for is refused", "[plugin_host]") {
  Config config = memory_config();
  config.stage_backend[static_cast<int>(StageKind::relay)] = "elsewhere";
  config.settings.set("plugin.elsewhere.path", flashsale::test::plugin_dir() + "/flashsale-memory.so");
  CHECK_THAT(startup_error(config), Catch::Contains("provides family 'memory', config asked for 'elsewhere'"));
}
