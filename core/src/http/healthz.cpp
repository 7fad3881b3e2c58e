// GET /healthz: what operators read, the process's counters since start and
// the accepted-to-final latency histogram. It only reads atomics, so it never
// blocks and answers even when every backend is down. GET /readyz asks the
// backends of this process's roles whether they can be reached now.
#include <atomic>

#include "http/handlers.h"
#include "http/json.h"
#include "metrics/metrics_registry.h"
#include "pipeline/counters.h"

namespace flashsale::handlers {

namespace {

std::int64_t n(const std::atomic<std::uint64_t>& value) {
  return static_cast<std::int64_t>(value.load(std::memory_order_relaxed));
}

std::string pipeline_json(const Counters& c) {
  return JsonWriter()
      .field("buy_accepted", static_cast<std::int64_t>(c.buy_accepted()))
      .field("buy_rejected", static_cast<std::int64_t>(c.buy_rejected()))
      .field("rate_limited", static_cast<std::int64_t>(c.rate_limited()))
      .field("ratelimit_fail_open", n(c.ratelimit_fail_open))
      .field("relayed", n(c.relayed))
      .field("relay_retries", n(c.relay_retries))
      .field("persisted", n(c.persisted))
      .field("finished_success", n(c.finished_success))
      .field("finished_failed", n(c.finished_failed))
      .field("worker_errors", n(c.worker_errors))
      .field("payments_accepted", n(c.payments_accepted))
      .field("cancels_accepted", n(c.cancels_accepted))
      .field("orders_expired", n(c.orders_expired))
      .field("stock_returned", n(c.stock_returned))
      .field("stock_return_failures", n(c.stock_return_failures))
      .done();
}

std::string http_json(const HttpCounters& h) {
  return JsonWriter()
      .field("connections_open", n(h.connections_open))
      .field("connections_accepted", n(h.connections_accepted))
      .field("refused_max_connections", n(h.refused_max_connections))
      .field("refused_per_ip", n(h.refused_per_ip))
      .field("header_timeouts", n(h.header_timeouts))
      .field("body_timeouts", n(h.body_timeouts))
      .field("idle_closed", n(h.idle_closed))
      .field("write_timeouts", n(h.write_timeouts))
      .field("bad_requests", n(h.bad_requests))
      .field("payload_too_large", n(h.payload_too_large))
      .field("pipeline_paused", n(h.pipeline_paused))
      .field("handler_queue_full", n(h.handler_queue_full))
      .field("admin_auth_failures", n(h.admin_auth_failures))
      .field("admin_auth_limited", n(h.admin_auth_limited))
      .done();
}

// Cumulative, like Prometheus' `le` buckets: a client diffs two samples.
std::string latency_json(const LatencyHistogram& histogram) {
  LatencyHistogram::Counts counts = histogram.counts();
  JsonWriter le;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += counts[i];
    le.field(i < LatencyHistogram::bounds().size() ? std::to_string(LatencyHistogram::bounds()[i]) : "+Inf",
             static_cast<std::int64_t>(cumulative));
  }
  return JsonWriter()
      .field("count", static_cast<std::int64_t>(cumulative))
      .field("p50_le", LatencyHistogram::bound_of_share(counts, 0.5))
      .field("p99_le", LatencyHistogram::bound_of_share(counts, 0.99))
      .raw("le", le.done())
      .done();
}

}  // namespace

HttpResponse healthz(const ApiContext& context, const HttpRequest&, std::string_view) {
  const Counters& c = *context.counters;
  return HttpResponse::json(200, JsonWriter()
                                     .field("status", "ok")
                                     .raw("counters", pipeline_json(c))
                                     .raw("http", http_json(c.http))
                                     .raw("accepted_to_final_ms", latency_json(c.accepted_to_final))
                                     .done());
}

HttpResponse readyz(const ApiContext& context, const HttpRequest&, std::string_view) {
  std::vector<BackendReadiness> answers = context.readiness ? context.readiness() : std::vector<BackendReadiness>{};
  JsonWriter backends;
  std::string problems;
  for (const BackendReadiness& backend : answers) {
    JsonWriter one;
    one.field("stages", backend.stages).field("ready", backend.ready);
    if (!backend.ready) {
      one.field("problem", backend.problem);
      problems += (problems.empty() ? "" : "; ") + backend.family + " (" + backend.stages + "): " + backend.problem;
    }
    backends.raw(backend.family, one.done());
  }
  if (problems.empty()) {
    return HttpResponse::json(200, JsonWriter().field("status", "ready").raw("backends", backends.done()).done());
  }
  std::string error = JsonWriter().field("code", "not_ready").field("message", problems).done();
  return HttpResponse::json(503, JsonWriter().raw("error", error).raw("backends", backends.done()).done());
}

HttpResponse metrics(const ApiContext& context, const HttpRequest&, std::string_view) {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = context.metrics->scrape();
  return response;
}

HttpResponse livez(const ApiContext&, const HttpRequest&, std::string_view) {
  return HttpResponse::json(200, R"({"status":"ok"})");
}

}  // namespace flashsale::handlers
