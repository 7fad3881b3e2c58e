#include "app/server.h"

#include "app/services.h"
#include "host/startup_error.h"
#include "host/stderr_logger.h"
#include "http/http_server.h"
#include "workers/consumer_worker.h"
#include "workers/expiry_worker.h"
#include "workers/relay_worker.h"

namespace flashsale {

namespace {
constexpr std::chrono::milliseconds kDrainTimeout{15000};
}

struct Server::Parts {
  Config config;
  Services services;  // after config, which it refers to
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<RelayWorker> relay_worker;
  std::unique_ptr<ConsumerWorker> consumer_worker;
  std::unique_ptr<ExpiryWorker> expiry_worker;

  explicit Parts(Config c) : config(std::move(c)), services(config) {}
};

Server::Server(Config config) : parts_(std::make_unique<Parts>(std::move(config))) {
  for (const std::string& warning : parts_->services.host.warnings()) {
    stderr_logger().log(LogLevel::warning, "config", warning);
  }
}

Server::~Server() {
  stop();
}

void Server::start() {
  Parts& p = *parts_;
  Services& s = p.services;
  auto batch = static_cast<std::size_t>(p.config.settings.get_int("worker.batch.size", 256, nullptr));
  std::chrono::milliseconds linger(p.config.settings.get_int("worker.linger.ms", 2, nullptr));
  if (p.config.role_consumer) {
    p.consumer_worker = std::make_unique<ConsumerWorker>(
        s.stages.relay, s.stages.store, s.stages.notifier, batch, linger, p.config.payment_timeout, &s.counters,
        p.config.settings.get_int("fault.crash.before.commit", 0, nullptr));
    p.consumer_worker->start();
  }
  if (p.config.role_expirer) {
    p.expiry_worker =
        std::make_unique<ExpiryWorker>(s.stages.store, &s.returner, batch, p.config.expiry_scan_interval, &s.counters);
    p.expiry_worker->start();
  }
  if (p.config.role_relay) {
    p.relay_worker =
        std::make_unique<RelayWorker>(s.stages.outbox, s.stages.relay, batch, linger, &s.counters,
                                      p.config.settings.get_int("fault.crash.before.outbox.ack", 0, nullptr));
    p.relay_worker->start();
  }
  if (p.config.role_api) {
    p.http = std::make_unique<HttpServer>(&s.router, p.config.http, &s.counters.http);
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
  if (p.expiry_worker) p.expiry_worker->drain_and_stop(kDrainTimeout);
  p.relay_worker.reset();
  p.consumer_worker.reset();
  p.expiry_worker.reset();
}

}  // namespace flashsale
