// The memory plugin as the host loads it: a bad setting stops start-up with
// one line naming the key, and admission, outbox and notify share one store.
#include <catch2/catch.hpp>

#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "support/temp_dir.h"

namespace flashsale {

namespace {
Config memory_config() {
  char* env[] = {nullptr};
  Config config = load_config("", env, ".");
  for (std::string& family : config.stage_backend) family = "memory";
  config.plugin_dir = test::plugin_dir();
  return config;
}
}  // namespace

TEST_CASE("memory plugin: a bad setting stops start-up naming the key", "[memory]") {
  Config config = memory_config();
  config.settings.set("outbox.max.deliveries", "0");
  PluginHost host(config);
  try {
    host.make_stages();
    FAIL("make_stages accepted outbox.max.deliveries = 0");
  } catch (const StartupError& e) {
    CHECK_THAT(e.what(), Catch::Contains("outbox.max.deliveries (OUTBOX_MAX_DELIVERIES)"));
  }
}

TEST_CASE("memory plugin: admission, outbox and notify share one store", "[memory]") {
  Config config = memory_config();
  PluginHost host(config);
  Stages stages = host.make_stages();
  REQUIRE(stages.admission->load_stock(SaleStock{1, 5, 0, INT64_MAX, 0}).is_ok());
  OrderEvent event{"r1", 1, 1, 1, 100, 0};
  REQUIRE(stages.admission->admit(AdmitRequest{event, {}}).status.is_ok());

  std::vector<OutboxEntry> read;
  REQUIRE(stages.outbox->read(10, std::chrono::milliseconds(0), &read).is_ok());
  REQUIRE(read.size() == 1);
  CHECK(read[0].event.request_id == "r1");
  RequestState state;
  REQUIRE(stages.notifier->lookup("r1", &state).is_ok());
  CHECK(state.status == RequestStatus::pending);
}

}  // namespace flashsale
