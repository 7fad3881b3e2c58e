// What one process builds over its stages, before any listener or worker:
// the plugins and stages the config names, the services the API and the
// workers share, and the API's route table. The server adds the listener
// and the workers its roles ask for; tests call the router directly.
#pragma once

#include "host/config.h"
#include "host/plugin_host.h"
#include "http/admin_guard.h"
#include "http/api.h"
#include "http/router.h"
#include "metrics/metrics_registry.h"
#include "pipeline/buy_service.h"
#include "pipeline/catalog.h"
#include "pipeline/counters.h"
#include "pipeline/order_service.h"
#include "pipeline/result_service.h"
#include "pipeline/sale_admin.h"
#include "pipeline/stock_returner.h"

namespace flashsale {

// The stages a process with these roles calls: api buys, reads results and
// orders (ratelimit, admit, persist, notify); relay moves the outbox (outbox,
// relay); consumer persists and notifies (relay, persist, notify); expirer
// cancels and returns stock (persist, admit).
std::vector<StageKind> stages_of_roles(const Config& config);

struct Services {
  // Loads plugins and makes every stage; throws StartupError on any problem.
  // `config` must outlive the Services. `admin_log` receives the admin
  // guard's lockout lines (default: stderr).
  explicit Services(const Config& config, AdminGuard::Log admin_log = {});
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  MetricsRegistry metrics;  // before the host, whose plugins register into it
  PluginHost host;
  Stages stages;
  Counters counters;
  Catalog catalog;
  BuyService buy;
  ResultService results;
  StockReturner returner;
  OrderService orders;
  SaleAdmin sale_admin;
  AdminGuard admin;
  ApiContext api;
  Router router;
};

}  // namespace flashsale
