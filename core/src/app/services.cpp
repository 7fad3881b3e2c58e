#include "app/services.h"

namespace flashsale {

Services::Services(const Config& config, AdminGuard::Log admin_log)
    : host(config),
      stages(host.make_stages()),
      catalog(stages.store, stages.admission, config.settings.get_int("stock.cache.ttl.hour", 24, nullptr) * 3600),
      buy(stages.ratelimit, stages.admission, &catalog, &counters, stages.rate_limit_in_admission),
      results(stages.notifier, stages.store),
      returner(stages.store, stages.admission, &counters,
               config.settings.get_int("fault.crash.before.stock.return", 0, nullptr)),
      orders(stages.store, &returner, &counters),
      admin(config.admin_token, &counters, config.admin_failures_per_second, {}, std::move(admin_log)) {
  api.catalog = &catalog;
  api.buy = &buy;
  api.results = &results;
  api.orders = &orders;
  api.counters = &counters;
  api.admin = &admin;
  api.payment_webhook_secret = config.payment_webhook_secret;
  add_api_routes(&api, &router);
}

}  // namespace flashsale
