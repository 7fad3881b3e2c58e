// Which path reaches which handler, which of them need the admin token, and
// and how the handlers reach the services.
#include "http/api.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include "http/admin_guard.h"
#include "http/handlers.h"
#include "metrics/metrics_registry.h"

namespace flashsale {

namespace {

using Endpoint = HttpResponse (*)(const ApiContext&, const HttpRequest&, std::string_view);

Router::Handler anyone(const ApiContext* context, Endpoint endpoint) {
  return [context, endpoint](const HttpRequest& request, std::string_view param) {
    return endpoint(*context, request, param);
  };
}

Router::Handler admin_only(const ApiContext* context, Endpoint endpoint) {
  return [context, endpoint](const HttpRequest& request, std::string_view param) {
    if (std::optional<HttpResponse> refusal = context->admin->check(request)) return std::move(*refusal);
    return endpoint(*context, request, param);
  };
}

// Counts each answer by status class and times the handler (not the queue
// before it, nor the write after it).
Router::Handler measured(Metrics* metrics, const std::string& route, Router::Handler handler) {
  constexpr const char* kRequests = "flashsale_http_requests_total";
  constexpr const char* kRequestsHelp = "HTTP requests answered by a route, by route and status class.";
  std::array<CounterMetric*, 5> by_class{};
  const char* classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < by_class.size(); ++i) {
    by_class[i] = &metrics->counter(kRequests, kRequestsHelp, {{"route", route.c_str()}, {"code", classes[i]}});
  }
  HistogramMetric* duration = &metrics->histogram(
      "flashsale_http_request_duration_seconds", "Time a route's handler took, by route.",
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
      {{"route", route.c_str()}});
  return [by_class, duration, handler = std::move(handler)](const HttpRequest& request, std::string_view param) {
    auto start = std::chrono::steady_clock::now();
    int status = 500;  // what the connection answers when the handler throws
    try {
      HttpResponse response = handler(request, param);
      status = response.status;
      duration->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      by_class[static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1)]->increment();
      return response;
    } catch (...) {
      by_class[4]->increment();
      throw;
    }
  };
}

}  // namespace

void add_api_routes(const ApiContext* context, Router* router) {
  constexpr bool kBlocking = true;  // calls a backend
  auto add = [&](std::string_view method, std::string pattern, bool blocking, Router::Handler handler) {
    if (context->metrics != nullptr) handler = measured(context->metrics, pattern, std::move(handler));
    router->add(method, std::move(pattern), blocking, std::move(handler));
  };
  add("POST", "/api/flash_sale/buy", kBlocking, anyone(context, handlers::buy));
  add("GET", "/api/flash_sale/result/{}", kBlocking, anyone(context, handlers::result));
  add("POST", "/api/products", kBlocking, admin_only(context, handlers::create_product));
  add("GET", "/api/products/{}", kBlocking, anyone(context, handlers::get_product));
  add("POST", "/api/flash_sale/preload/{}", kBlocking, admin_only(context, handlers::preload));
  add("GET", "/api/orders/{}", kBlocking, anyone(context, handlers::get_order));
  add("POST", "/api/orders/{}/pay", kBlocking, anyone(context, handlers::pay_order));
  add("POST", "/api/orders/{}/cancel", kBlocking, anyone(context, handlers::cancel_order));
  add("GET", "/api/admin/reconcile/{}", kBlocking, admin_only(context, handlers::reconcile));
  add("POST", "/api/admin/products/{}/pause", kBlocking, admin_only(context, handlers::pause_sale));
  add("POST", "/api/admin/products/{}/resume", kBlocking, admin_only(context, handlers::resume_sale));
  add("POST", "/api/admin/products/{}/stock", kBlocking, admin_only(context, handlers::top_up_stock));
  // The exact replay path first: "replay" is no dead letter id.
  add("POST", "/api/admin/dead-letters/replay", kBlocking, admin_only(context, handlers::replay_dead_letters));
  add("GET", "/api/admin/dead-letters", kBlocking, admin_only(context, handlers::list_dead_letters));
  add("GET", "/api/admin/dead-letters/{}", kBlocking, admin_only(context, handlers::get_dead_letter));
  add("POST", "/api/admin/dead-letters/{}/replay", kBlocking, admin_only(context, handlers::replay_dead_letter));
  add("GET", "/healthz", !kBlocking, anyone(context, handlers::healthz));
  add("GET", "/livez", !kBlocking, anyone(context, handlers::livez));
  add("GET", "/readyz", kBlocking, anyone(context, handlers::readyz));
  add("GET", "/openapi.json", !kBlocking, anyone(context, handlers::openapi));
  add("GET", "/metrics", kBlocking, anyone(context, handlers::metrics));
  add("GET", "/dashboard", !kBlocking, anyone(context, handlers::dashboard));
}

}  // namespace flashsale
