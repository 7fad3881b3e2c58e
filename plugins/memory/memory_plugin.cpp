// The memory backend family: all six stages in process memory, for the
// embedded, no-server profile and for tests. Nothing survives a restart.
// This file is the plugin's one exported symbol and its Backend, which reads
// the settings once and owns the SaleStore that admission, outbox and notify
// share (the atomicity between them lives there).
#include <memory>
#include <string>

#include "flashsale/boundary.h"
#include "flashsale/clock.h"
#include "flashsale/plugin.h"
#include "memory_ratelimit.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

struct Options {
  std::int64_t rate_limit = 0;
  std::int64_t rate_window_ms = 0;
  StoreOptions store;
};

// Fallbacks equal the host's defaults, for a host that passes fewer keys.
bool read_options(const Settings& settings, Options* options, std::string* error) {
  std::string problem;
  options->rate_limit = settings.get_int("buy.rate.limit", 1000, &problem, 1, INT32_MAX);
  options->rate_window_ms = settings.get_int("buy.rate.window.sec", 1, &problem, 1, 86400) * 1000;
  options->store.state_ttl_ms = settings.get_int("request.state.ttl.sec", 86400, &problem, 1, INT32_MAX) * 1000;
  options->store.claim_idle =
      std::chrono::milliseconds(settings.get_int("outbox.claim.idle.ms", 30000, &problem, 1, 86400000));
  options->store.max_deliveries =
      static_cast<std::uint32_t>(settings.get_int("outbox.max.deliveries", 16, &problem, 1, 1000000));
  options->store.clock = now_ms;
  if (!problem.empty()) *error = problem;
  return problem.empty();
}

// Runs a stage factory, turning an exception into nullptr and a message.

class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(const Options& options)
      : options_(options), store_(std::make_shared<SaleStore>(options.store)) {}

  RateLimiter* make_ratelimit(std::string* error) noexcept override {
    return make_or_report(error, [&]() -> RateLimiter* {
      return new MemoryRateLimiter(options_.rate_limit, options_.rate_window_ms, options_.store.clock);
    });
  }
  Admission* make_admission(std::string* error) noexcept override {
    return make_or_report(error, [&] { return new_admission(store_); });
  }
  Outbox* make_outbox(std::string* error) noexcept override {
    return make_or_report(error, [&] { return new_outbox(store_); });
  }
  Relay* make_relay(std::string* error) noexcept override {
    return make_or_report(error, [] { return new_relay(); });
  }
  OrderStore* make_order_store(std::string* error) noexcept override {
    return make_or_report(error, [] { return new_order_store(); });
  }
  Notifier* make_notifier(std::string* error) noexcept override {
    return make_or_report(error, [&] { return new_notifier(store_); });
  }

 private:
  Options options_;
  std::shared_ptr<SaleStore> store_;
};

Backend* make_backend(const Settings& settings, const HostServices&, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  return make_or_report(error, [&]() -> Backend* {
    Options options;
    if (!read_options(settings, &options, error)) return nullptr;
    return new MemoryBackend(options);
  });
}

// No keys of its own: it reads core's (the rate limit, state TTL, outbox claim time and deliveries).
const PluginDescriptor descriptor{kPluginAbiVersion, "memory", &make_backend, nullptr, 0,
                                  "ratelimit,admit,outbox,relay,persist,notify"};

}  // namespace

}  // namespace flashsale::memory

FLASHSALE_PLUGIN(flashsale::memory::descriptor)
