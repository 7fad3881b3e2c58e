// The host's metrics registry as a plugin sees it: counters, gauges and
// histograms that GET /metrics serves in the Prometheus text format beside
// the host's own. A plugin keeps no private counters of its own.
//
// Names follow Prometheus conventions: the `flashsale_` prefix, base units
// (`_seconds`, `_bytes`), `_total` on counters. Labels name bounded sets
// (a stage, a partition, an outcome), never a user or a request.
#pragma once

#include <initializer_list>

namespace flashsale {

struct MetricLabel {
  const char* name;
  const char* value;
};

// Thread-safety: each metric may be updated from any thread at once; an
// update never blocks on a scrape for long and never throws.
class CounterMetric {
 public:
  virtual void increment(double amount = 1) noexcept = 0;  // amount >= 0

 protected:
  ~CounterMetric() = default;
};

class GaugeMetric {
 public:
  virtual void set(double value) noexcept = 0;
  virtual void add(double amount) noexcept = 0;  // negative to subtract

 protected:
  ~GaugeMetric() = default;
};

class HistogramMetric {
 public:
  virtual void observe(double value) noexcept = 0;

 protected:
  ~HistogramMetric() = default;
};

// Asking twice for one name and label set gives the same metric. The host
// owns every metric and keeps it for its own lifetime, so a pointer may be
// kept as long as the Backend lives. A name that is not a valid Prometheus
// name, or one already registered with another type, help or label names
// (or bucket bounds), gets a metric that counts nothing, and the host logs
// why once: a metrics mistake never stops a sale.
// Thread-safety: may be called from any thread; meant for start-up, since a
// lookup takes a lock.
class Metrics {
 public:
  virtual CounterMetric& counter(const char* name, const char* help,
                                 std::initializer_list<MetricLabel> labels = {}) noexcept = 0;
  virtual GaugeMetric& gauge(const char* name, const char* help,
                             std::initializer_list<MetricLabel> labels = {}) noexcept = 0;
  // `bounds`: the buckets' upper bounds, increasing; +Inf is added.
  virtual HistogramMetric& histogram(const char* name, const char* help, std::initializer_list<double> bounds,
                                     std::initializer_list<MetricLabel> labels = {}) noexcept = 0;

 protected:
  ~Metrics() = default;
};

}  // namespace flashsale
