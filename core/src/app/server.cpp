#include "app/server.h"

#include "host/plugin_host.h"
#include "host/startup_error.h"
#include "http/admin_guard.h"
#include "http/api.h"
#include "http/http_server.h"
#include "http/router.h"
#include "pipeline/buy_service.h"
#include "pipeline/catalog.h"
#include "pipeline/counters.h"
#include "pipeline/result_service.h"
#include "workers/consumer_worker.h"
#include "workers/relay_worker.h"

namespace flashsale {

namespace {
constexpr std::chrono::milliseconds kDrainTimeout{15000};
}

struct Server::Parts {
  Config config;
  PluginHost host;
  Stages stages;
  Counters counters;
  Catalog catalog;
  BuyService buy;
  ResultService results;
  AdminGuard admin;
  ApiContext api;
  Router router;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<RelayWorker> relay_worker;
  std::unique_ptr<ConsumerWorker> consumer_worker;

  explicit Parts(Config c)
      : config(std::move(c)),
        host(config),
        stages(host.make_stages()),
        catalog(stages.store, stages.admission, config.settings.get_int("stock.cache.ttl.hour", 24, nullptr) * 3600),
        buy(stages.ratelimit, stages.admission, &catalog, &counters, stages.rate_limit_in_admission),
        results(stages.notifier, stages.store),
        admin(config.admin_token, &counters, config.admin_failures_per_second) {
    api.catalog = &catalog;
    api.buy = &buy;
    api.results = &results;
    api.counters = &counters;
    api.admin = &admin;
    add_api_routes(&api, &router);
  }
};

Server::Server(Config config) : parts_(std::make_unique<Parts>(std::move(config))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  Parts& p = *parts_;
  auto batch = static_cast<std::size_t>(p.config.settings.get_int("worker.batch.size", 256, nullptr));
  std::chrono::milliseconds linger(p.config.settings.get_int("worker.linger.ms", 2, nullptr));
  if (p.config.role_consumer) {
    p.consumer_worker =
        std::make_unique<ConsumerWorker>(p.stages.relay, p.stages.store, p.stages.notifier, batch, linger, &p.counters,
                                         p.config.settings.get_int("fault.crash.before.commit", 0, nullptr));
    p.consumer_worker->start();
  }
  if (p.config.role_relay) {
    p.relay_worker = std::make_unique<RelayWorker>(p.stages.outbox, p.stages.relay, batch, linger, &p.counters);
    p.relay_worker->start();
  }
  if (p.config.role_api) {
    p.http = std::make_unique<HttpServer>(&p.router, p.config.http, &p.counters.http);
    try {
      p.http->start();
    } catch (const std::exception& e) {
      throw StartupError("http.addr (HTTP_ADDR): cannot listen on " + p.config.settings.get("http.addr") + ": " +
                         e.what());
    }
  }
}

std::uint16_t Server::port() const {
  return parts_->http ? parts_->http->port() : 0;
}

void Server::stop() {
  Parts& p = *parts_;
  if (p.http) {
    p.http->stop(p.config.drain_timeout);  // no new requests; those in progress are answered
    p.http.reset();
  }
  // The relay first, so what it publishes while draining reaches the consumer.
  if (p.relay_worker) p.relay_worker->drain_and_stop(kDrainTimeout);
  if (p.consumer_worker) p.consumer_worker->drain_and_stop(kDrainTimeout);
  p.relay_worker.reset();
  p.consumer_worker.reset();
}

}  // namespace flashsale
