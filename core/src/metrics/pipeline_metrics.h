// The host's own figures in GET /metrics: the counters and histograms the
// pipeline keeps in Counters, and what is read from the stages at each
// scrape (stock per product, the outbox backlog, orders by state).
#pragma once

namespace flashsale {

class Admission;
class Catalog;
class MetricsRegistry;
class OrderStore;
class Outbox;
class Relay;
struct Counters;

// What the scrape reads; a null stage is one this process does not use.
// Everything must outlive the registry's scrapes.
struct PipelineView {
  const Counters* counters = nullptr;
  Catalog* catalog = nullptr;
  Admission* admission = nullptr;
  Outbox* outbox = nullptr;
  Relay* relay = nullptr;
  OrderStore* store = nullptr;
};

// A scrape reads at most this many products (the lowest ids this process
// knows): per-product series stay bounded however many products exist.
inline constexpr unsigned kMaxProductsPerScrape = 500;

void add_pipeline_metrics(MetricsRegistry* registry, PipelineView view);

}  // namespace flashsale
