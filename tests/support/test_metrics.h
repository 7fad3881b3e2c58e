// A Metrics for tests that make a backend directly: keeps every metric a
// plugin registers so a test can read its value back. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "flashsale/metrics.h"

namespace flashsale::test {

class TestMetrics final : public Metrics {
 public:
  CounterMetric& counter(const char* name, const char*, std::initializer_list<MetricLabel> labels) noexcept override {
    return *find(name, labels);
  }
  GaugeMetric& gauge(const char* name, const char*, std::initializer_list<MetricLabel> labels) noexcept override {
    return *find(name, labels);
  }
  HistogramMetric& histogram(const char* name, const char*, std::initializer_list<double>,
                             std::initializer_list<MetricLabel> labels) noexcept override {
    return *find(name, labels);
  }

  // A counter's or gauge's value, a histogram's observation count; 0 when
  // never registered. `labels` as "a=1,b=2" in registration order.
  double value(const std::string& name, const std::string& labels = "") {
    std::lock_guard lock(mutex_);
    auto found = metrics_.find(name + "{" + labels + "}");
    return found == metrics_.end() ? 0 : found->second->value.load();
  }

 private:
  struct Stored final : CounterMetric, GaugeMetric, HistogramMetric {
    std::atomic<double> value{0};
    void increment(double amount) noexcept override { add(amount); }
    void set(double v) noexcept override { value.store(v); }
    void add(double amount) noexcept override {
      double seen = value.load();
      while (!value.compare_exchange_weak(seen, seen + amount)) {
      }
    }
    void observe(double) noexcept override { add(1); }
  };

  Stored* find(const char* name, std::initializer_list<MetricLabel> labels) noexcept {
    try {
      std::string key = std::string(name) + "{";
      for (const MetricLabel& label : labels) {
        key += (key.back() == '{' ? "" : ",") + std::string(label.name) + "=" + label.value;
      }
      key += "}";
      std::lock_guard lock(mutex_);
      std::unique_ptr<Stored>& slot = metrics_[key];
      if (!slot) slot = std::make_unique<Stored>();
      return slot.get();
    } catch (...) {
      static Stored lost;
      return &lost;
    }
  }

  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Stored>> metrics_;
};

// One per test process, for code that makes a backend directly.
inline TestMetrics& test_metrics() {
  static TestMetrics metrics;
  return metrics;
}

}  // namespace flashsale::test
