// The process's metrics: the Metrics that plugins and the host's parts
// register into (backed by prometheus-cpp's registry), plus sources that
// read state at each scrape (stock levels, backlogs, the counters /healthz
// shows), served together by GET /metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flashsale/metrics.h"

namespace prometheus {
struct MetricFamily;
}

namespace flashsale {

class Logger;

class MetricsRegistry final : public Metrics {
 public:
  // `logger` hears about a refused registration (once per name); it must
  // outlive the registry.
  explicit MetricsRegistry(Logger* logger);
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterMetric& counter(const char* name, const char* help,
                         std::initializer_list<MetricLabel> labels = {}) noexcept override;
  GaugeMetric& gauge(const char* name, const char* help, std::initializer_list<MetricLabel> labels = {}) noexcept override;
  HistogramMetric& histogram(const char* name, const char* help, std::initializer_list<double> bounds,
                             std::initializer_list<MetricLabel> labels = {}) noexcept override;

  // Appends families computed now. Called on the scraping thread, one scrape
  // at a time; its names must differ from every registered metric's.
  using Source = std::function<void(std::vector<prometheus::MetricFamily>* out)>;
  void add_source(Source source);

  // Every metric in the Prometheus text format (version 0.0.4).
  std::string scrape() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace flashsale
