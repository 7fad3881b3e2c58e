#include "metrics/pipeline_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "flashsale/admission.h"
#include "flashsale/order_store.h"
#include "flashsale/outbox.h"
#include "flashsale/relay.h"
#include "metrics/metrics_registry.h"
#include "pipeline/catalog.h"
#include "pipeline/counters.h"

namespace flashsale {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

double value_of(const std::atomic<std::uint64_t>& counter) {
  return static_cast<double>(counter.load(std::memory_order_relaxed));
}

// One family being written into the scrape's list.
class Family {
 public:
  Family(std::vector<MetricFamily>* out, const char* name, const char* help, MetricType type)
      : out_(out), index_(out->size()), type_(type) {
    out->push_back(MetricFamily{name, help, type, {}});
  }

  Family& sample(double value, Labels labels = {}) {
    ClientMetric metric;
    metric.label = std::move(labels);
    if (type_ == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    (*out_)[index_].metric.push_back(std::move(metric));
    return *this;
  }

  // `scale` turns the histogram's unit into the metric's (µs -> s: 1e-6).
  template <const auto& kBounds>
  Family& histogram(const BucketHistogram<kBounds>& histogram, double scale, Labels labels = {}) {
    ClientMetric metric;
    metric.label = std::move(labels);
    auto counts = histogram.counts();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      double bound = i < kBounds.size() ? static_cast<double>(kBounds[i]) * scale
                                        : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back({cumulative, bound});
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(histogram.sum()) * scale;
    (*out_)[index_].metric.push_back(std::move(metric));
    return *this;
  }

 private:
  std::vector<MetricFamily>* out_;
  std::size_t index_;  // the list may grow while this is written: no pointer
  MetricType type_;
};

Family counter(std::vector<MetricFamily>* out, const char* name, const char* help) {
  return Family(out, name, help, MetricType::Counter);
}
Family gauge(std::vector<MetricFamily>* out, const char* name, const char* help) {
  return Family(out, name, help, MetricType::Gauge);
}
Family histogram(std::vector<MetricFamily>* out, const char* name, const char* help) {
  return Family(out, name, help, MetricType::Histogram);
}

// One sample per buy outcome: those a sale always has (0 until counted),
// every other code once counted; `n(slot)` is the count, `labels` the others.
template <typename Count>
void outcome_samples(Family& family, Count&& n, Labels labels) {
  for (std::size_t slot = 0; slot < Counters::kCodeSlots; ++slot) {
    auto code = static_cast<Code>(slot);
    bool always = code == Code::ok || code == Code::sold_out || code == Code::already_purchased ||
                  code == Code::rate_limited || code == Code::unavailable;
    if (n(slot) == 0 && !always) continue;
    Labels with = labels;
    with.push_back({"outcome", code == Code::ok ? "accepted" : code_name(code)});
    family.sample(static_cast<double>(n(slot)), with);
  }
}

void buy_metrics(const Counters& c, std::vector<MetricFamily>* out) {
  Family outcomes = counter(out, "flashsale_buy_requests_total",
                            "Buy calls by outcome: accepted, or the error code they were answered with.");
  outcome_samples(outcomes, [&](std::size_t slot) { return c.buy_outcomes[slot].load(std::memory_order_relaxed); }, {});
  counter(out, "flashsale_ratelimit_fail_open_total",
          "Buys let through because the rate-limit stage could not be asked (fail-open).")
      .sample(value_of(c.ratelimit_fail_open));
}

void http_metrics(const HttpCounters& h, std::vector<MetricFamily>* out) {
  gauge(out, "flashsale_http_connections_open", "Client connections open now.").sample(value_of(h.connections_open));
  counter(out, "flashsale_http_connections_accepted_total", "Client connections accepted.")
      .sample(value_of(h.connections_accepted));
  counter(out, "flashsale_http_connections_refused_total", "Connections closed at accept by a connection limit.")
      .sample(value_of(h.refused_max_connections), {{"limit", "http.max.connections"}})
      .sample(value_of(h.refused_per_ip), {{"limit", "http.max.connections.per.ip"}});
  counter(out, "flashsale_http_timeouts_total", "Connections closed by a deadline, by the phase that ran out.")
      .sample(value_of(h.header_timeouts), {{"phase", "header"}})
      .sample(value_of(h.body_timeouts), {{"phase", "body"}})
      .sample(value_of(h.idle_closed), {{"phase", "idle"}})
      .sample(value_of(h.write_timeouts), {{"phase", "write"}});
  counter(out, "flashsale_http_requests_refused_total", "Requests answered before reaching a route, by why.")
      .sample(value_of(h.bad_requests), {{"reason", "bad_request"}})
      .sample(value_of(h.payload_too_large), {{"reason", "payload_too_large"}})
      .sample(value_of(h.handler_queue_full), {{"reason", "overloaded"}})
      .sample(value_of(h.unrouted), {{"reason", "no_route"}});
  counter(out, "flashsale_http_pipeline_paused_total", "Times a connection's reading paused at http.max.pipelined.")
      .sample(value_of(h.pipeline_paused));
  counter(out, "flashsale_admin_auth_failures_total", "Admin calls refused for a wrong or missing token.")
      .sample(value_of(h.admin_auth_failures));
  counter(out, "flashsale_admin_auth_limited_total", "Admin calls answered 429 after repeated failures.")
      .sample(value_of(h.admin_auth_limited));
}

void worker_metrics(const Counters& c, std::vector<MetricFamily>* out) {
  counter(out, "flashsale_relay_published_total", "Outbox entries published to the relay and acked.")
      .sample(value_of(c.relayed));
  counter(out, "flashsale_relay_retries_total", "Outbox entries whose publication failed and is retried.")
      .sample(value_of(c.relay_retries));
  histogram(out, "flashsale_relay_publish_duration_seconds", "Time of one relay publish call (a batch).")
      .histogram(c.relay_publish_us, 1e-6);
  counter(out, "flashsale_outbox_redeliveries_total", "Outbox entries read again after a claim time (deliveries > 1).")
      .sample(value_of(c.outbox_redeliveries));
  counter(out, "flashsale_persisted_events_total", "Events the persist stage decided (success or failed).")
      .sample(value_of(c.persisted));
  counter(out, "flashsale_persist_conflicts_total",
          "Events persist answered failed: the user already held an order for the product.")
      .sample(value_of(c.persist_conflicts));
  histogram(out, "flashsale_persist_batch_size", "Events per persist batch.").histogram(c.persist_batch_size, 1);
  histogram(out, "flashsale_persist_batch_duration_seconds", "Time of one persist call (a batch).")
      .histogram(c.persist_batch_us, 1e-6);
  counter(out, "flashsale_requests_finished_total", "Accepted requests that reached a final state, by state.")
      .sample(value_of(c.finished_success), {{"status", "success"}})
      .sample(value_of(c.finished_failed), {{"status", "failed"}});
  counter(out, "flashsale_compensations_total",
          "Stock given back by the notify stage for accepted requests that failed at persist.")
      .sample(value_of(c.finished_failed));
  histogram(out, "flashsale_accepted_to_final_seconds",
            "From a request's acceptance to its final state, as the consumer records it.")
      .histogram(c.accepted_to_final, 1e-3);
  counter(out, "flashsale_worker_errors_total", "Stage calls of the background workers that failed (retried).")
      .sample(value_of(c.worker_errors));
}

void lifecycle_metrics(const Counters& c, std::vector<MetricFamily>* out) {
  counter(out, "flashsale_payments_total", "Pay calls answered ok (replays included).")
      .sample(value_of(c.payments_accepted));
  counter(out, "flashsale_cancels_total", "Cancel calls answered ok (replays included).")
      .sample(value_of(c.cancels_accepted));
  counter(out, "flashsale_orders_expired_total", "Unpaid orders cancelled at their payment deadline.")
      .sample(value_of(c.orders_expired));
  counter(out, "flashsale_stock_returns_total", "Cancelled orders' stock returns completed.")
      .sample(value_of(c.stock_returned));
  counter(out, "flashsale_stock_return_failures_total", "Stock returns left pending for the expiry worker to retry.")
      .sample(value_of(c.stock_return_failures));
}

// flashsale_metrics_source_up{source}: whether a stage read at this scrape worked.
void source_up(Family* up, const char* source, const Status& status) {
  up->sample(status.is_ok() ? 1 : 0, {{"source", source}});
}

void outbox_metrics(Outbox* outbox, Family* up, std::vector<MetricFamily>* out) {
  OutboxStats stats;
  Status status = outbox->stats(&stats);
  source_up(up, "outbox", status);
  if (!status.is_ok()) return;
  gauge(out, "flashsale_outbox_backlog", "Outbox entries appended and not yet delivered to a relay worker.")
      .sample(static_cast<double>(stats.undelivered));
  gauge(out, "flashsale_outbox_pending", "Outbox entries delivered to a relay worker and not yet acked.")
      .sample(static_cast<double>(stats.pending));
  gauge(out, "flashsale_outbox_dead_letters", "Outbox entries moved aside after outbox.max.deliveries.")
      .sample(static_cast<double>(stats.dead_lettered));
  counter(out, "flashsale_outbox_dead_letters_replayed_total", "Outbox dead letters an admin put back.")
      .sample(static_cast<double>(stats.replayed));
}

void relay_metrics(Relay* relay, Family* up, std::vector<MetricFamily>* out) {
  RelayStats stats;
  Status status = relay->stats(&stats);
  source_up(up, "relay", status);
  if (!status.is_ok()) return;
  counter(out, "flashsale_relay_dead_lettered_total",
          "Relay messages this process's relay stage moved to its dead letters (kafka: the dead-letter topic).")
      .sample(static_cast<double>(stats.dead_lettered));
  counter(out, "flashsale_relay_dead_letters_replayed_total", "Relay dead letters this process put back.")
      .sample(static_cast<double>(stats.replayed));
}

void product_metrics(const PipelineView& view, Family* up, std::vector<MetricFamily>* out) {
  std::vector<ProductId> products = view.catalog->known(kMaxProductsPerScrape);
  if (view.admission != nullptr) {
    Family stock = gauge(out, "flashsale_stock_remaining", "Units the admit stage can still sell, per live sale.");
    Status worst = Status::ok();
    for (ProductId id : products) {
      StockLevel level;
      Status status = view.admission->stock(id, &level);
      if (!status.is_ok()) worst = status;
      if (status.is_ok() && level.preloaded) {
        stock.sample(static_cast<double>(level.remaining), {{"product", std::to_string(id)}});
      }
    }
    source_up(up, "admit", worst);
  }
  Family outcomes = counter(out, "flashsale_product_buy_requests_total",
                            "Buy calls by product and outcome, as flashsale_buy_requests_total.");
  for (ProductId id : products) {
    ProductOutcomes::Counts counts{};
    if (!view.counters->product_outcomes.counts(id, &counts)) continue;
    outcome_samples(outcomes, [&](std::size_t slot) { return counts[slot]; }, {{"product", std::to_string(id)}});
  }
  if (view.store == nullptr) return;
  Family orders = gauge(out, "flashsale_orders", "Orders in the system of record, by product and state.");
  Family created = counter(out, "flashsale_orders_created_total", "Orders ever created, by product.");
  Family failed = counter(out, "flashsale_requests_failed_total", "Requests recorded as failed at persist, by product.");
  Family returns = gauge(out, "flashsale_stock_returns_pending", "Units of cancelled orders not yet back in stock.");
  Status worst = Status::ok();
  for (ProductId id : products) {
    ProductSales sales;
    Status status = view.store->sales(id, &sales);
    if (!status.is_ok()) {
      worst = status;
      continue;
    }
    std::string product = std::to_string(id);
    orders.sample(static_cast<double>(sales.orders_awaiting_payment), {{"product", product}, {"state", "awaiting_payment"}})
        .sample(static_cast<double>(sales.orders_paid), {{"product", product}, {"state", "paid"}})
        .sample(static_cast<double>(sales.orders_cancelled), {{"product", product}, {"state", "cancelled"}});
    created.sample(static_cast<double>(sales.orders), {{"product", product}});
    failed.sample(static_cast<double>(sales.failed_requests), {{"product", product}});
    returns.sample(static_cast<double>(sales.quantity_returns_pending), {{"product", product}});
  }
  source_up(up, "persist", worst);
}

}  // namespace

void add_pipeline_metrics(MetricsRegistry* registry, PipelineView view) {
  registry->add_source([view](std::vector<MetricFamily>* out) {
    const Counters& c = *view.counters;
    buy_metrics(c, out);
    http_metrics(c.http, out);
    worker_metrics(c, out);
    lifecycle_metrics(c, out);
    // Index, not reference: the families below grow the list.
    Family up = gauge(out, "flashsale_metrics_source_up", "Whether the stage read at this scrape answered (1) or not (0).");
    if (view.outbox != nullptr) outbox_metrics(view.outbox, &up, out);
    if (view.relay != nullptr) relay_metrics(view.relay, &up, out);
    if (view.catalog != nullptr) product_metrics(view, &up, out);
  });
}

}  // namespace flashsale
