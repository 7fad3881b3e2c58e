#include "app/services.h"

#include <algorithm>

#include "host/stderr_logger.h"
#include "metrics/pipeline_metrics.h"

namespace flashsale {

std::vector<StageKind> stages_of_roles(const Config& config) {
  std::vector<StageKind> stages;
  auto use = [&](StageKind stage) {
    if (std::find(stages.begin(), stages.end(), stage) == stages.end()) stages.push_back(stage);
  };
  if (config.role_api) {
    for (StageKind stage : {StageKind::ratelimit, StageKind::admit, StageKind::persist, StageKind::notify}) use(stage);
  }
  if (config.role_relay) {
    use(StageKind::outbox);
    use(StageKind::relay);
  }
  if (config.role_consumer) {
    for (StageKind stage : {StageKind::relay, StageKind::persist, StageKind::notify}) use(stage);
  }
  if (config.role_expirer) {
    use(StageKind::persist);
    use(StageKind::admit);
  }
  std::sort(stages.begin(), stages.end());
  return stages;
}

Services::Services(const Config& config, AdminGuard::Log admin_log)
    : metrics(&stderr_logger()),
      host(config, HostServices{&stderr_logger(), &metrics}),
      stages(host.make_stages()),
      catalog(stages.store, stages.admission, config.settings.get_int("stock.cache.ttl.hour", 24, nullptr) * 3600),
      buy(stages.ratelimit, stages.admission, &catalog, &counters, stages.rate_limit_in_admission),
      results(stages.notifier, stages.store),
      returner(stages.store, stages.admission, &counters,
               config.settings.get_int("fault.crash.before.stock.return", 0, nullptr)),
      orders(stages.store, &returner, &counters),
      sale_admin(&catalog, stages.store, stages.admission, &returner),
      admin(config.admin_token, &counters, config.admin_failures_per_second, {}, std::move(admin_log)) {
  api.catalog = &catalog;
  api.buy = &buy;
  api.results = &results;
  api.orders = &orders;
  api.sale_admin = &sale_admin;
  api.counters = &counters;
  api.metrics = &metrics;
  api.admin = &admin;
  api.outbox_dead_letters = stages.outbox.get();
  api.relay_dead_letters = stages.relay.get();
  api.payment_webhook_secret = config.payment_webhook_secret;
  std::vector<StageKind> used = stages_of_roles(config);
  api.readiness = [this, used] {
    std::vector<BackendReadiness> answers;
    for (const PluginHost::Readiness& family : host.ready(used)) {
      answers.push_back({family.family, family.stages, family.status.is_ok(), family.status.message()});
    }
    return answers;
  };
  add_api_routes(&api, &router);
  auto uses = [&used](StageKind stage) { return std::find(used.begin(), used.end(), stage) != used.end(); };
  add_pipeline_metrics(&metrics, PipelineView{&counters, &catalog, uses(StageKind::admit) ? stages.admission.get() : nullptr,
                                              uses(StageKind::outbox) ? stages.outbox.get() : nullptr,
                                              uses(StageKind::relay) ? stages.relay.get() : nullptr,
                                              uses(StageKind::persist) ? stages.store.get() : nullptr});
}

}  // namespace flashsale
