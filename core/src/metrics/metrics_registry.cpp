#include "metrics/metrics_registry.h"

#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "flashsale/host_services.h"

namespace flashsale {

namespace {

class CounterAdapter final : public CounterMetric {
 public:
  explicit CounterAdapter(prometheus::Counter* counter) : counter_(counter) {}
  void increment(double amount) noexcept override {
    if (counter_ != nullptr && amount >= 0) counter_->Increment(amount);
  }

 private:
  prometheus::Counter* counter_;
};

class GaugeAdapter final : public GaugeMetric {
 public:
  explicit GaugeAdapter(prometheus::Gauge* gauge) : gauge_(gauge) {}
  void set(double value) noexcept override {
    if (gauge_ != nullptr) gauge_->Set(value);
  }
  void add(double amount) noexcept override {
    if (gauge_ != nullptr) gauge_->Increment(amount);
  }

 private:
  prometheus::Gauge* gauge_;
};

class HistogramAdapter final : public HistogramMetric {
 public:
  explicit HistogramAdapter(prometheus::Histogram* histogram) : histogram_(histogram) {}
  void observe(double value) noexcept override {
    if (histogram_ == nullptr) return;
    try {
      histogram_->Observe(value);
    } catch (...) {  // only a failed lock: the observation is lost, the caller goes on
    }
  }

 private:
  prometheus::Histogram* histogram_;
};

enum class Kind { counter, gauge, histogram };

// What a name was first registered as: a later registration must agree.
struct Shape {
  Kind kind;
  std::string help;
  std::set<std::string> label_names;
  std::vector<double> bounds;
  void* family;  // prometheus::Family<T>* of the kind
};

std::set<std::string> names_of(std::initializer_list<MetricLabel> labels) {
  std::set<std::string> names;
  for (const MetricLabel& label : labels) names.insert(label.name);
  return names;
}

prometheus::Labels labels_of(std::initializer_list<MetricLabel> labels) {
  prometheus::Labels out;
  for (const MetricLabel& label : labels) out.emplace(label.name, label.value);
  return out;
}

std::string key_of(const char* name, std::initializer_list<MetricLabel> labels) {
  std::string key = name;
  for (const auto& [label, value] : labels_of(labels)) key.append("\n").append(label).append("=").append(value);
  return key;
}

}  // namespace

struct MetricsRegistry::State {
  explicit State(Logger* l) : logger(l) {}

  Logger* logger;
  prometheus::Registry registry;
  std::mutex mutex;  // guards the maps below and registry's families
  std::map<std::string, Shape> shapes;
  std::map<std::string, std::unique_ptr<CounterAdapter>> counters;
  std::map<std::string, std::unique_ptr<GaugeAdapter>> gauges;
  std::map<std::string, std::unique_ptr<HistogramAdapter>> histograms;
  std::set<std::string> refused;  // names already logged
  std::vector<Source> sources;
  mutable std::mutex scrape_mutex;  // one scrape at a time: sources need not be reentrant

  CounterAdapter null_counter{nullptr};
  GaugeAdapter null_gauge{nullptr};
  HistogramAdapter null_histogram{nullptr};

  void refuse(const char* name, const std::string& why) noexcept {
    try {
      if (refused.insert(name).second) {
        logger->log(LogLevel::error, "metrics", std::string("metric ") + name + " not registered: " + why);
      }
    } catch (...) {
    }
  }

  // The family `name` as `kind` (made on first use), or null after logging
  // why a registration of that shape is refused.
  void* family(Kind kind, const char* name, const char* help, std::initializer_list<MetricLabel> labels,
               const std::vector<double>& bounds) {
    auto found = shapes.find(name);
    if (found != shapes.end()) {
      const Shape& shape = found->second;
      if (shape.kind != kind) return refuse(name, "registered before as another type"), nullptr;
      if (shape.label_names != names_of(labels)) return refuse(name, "registered before with other labels"), nullptr;
      if (shape.bounds != bounds) return refuse(name, "registered before with other bucket bounds"), nullptr;
      return shape.family;
    }
    try {
      void* made = nullptr;
      switch (kind) {
        case Kind::counter:
          made = &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
          break;
        case Kind::gauge:
          made = &prometheus::BuildGauge().Name(name).Help(help).Register(registry);
          break;
        case Kind::histogram:
          made = &prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
          break;
      }
      shapes.emplace(name, Shape{kind, help, names_of(labels), bounds, made});
      return made;
    } catch (const std::exception& e) {
      refuse(name, e.what());
      return nullptr;
    }
  }
};

MetricsRegistry::MetricsRegistry(Logger* logger) : state_(std::make_unique<State>(logger)) {}

MetricsRegistry::~MetricsRegistry() = default;

CounterMetric& MetricsRegistry::counter(const char* name, const char* help,
                                        std::initializer_list<MetricLabel> labels) noexcept {
  try {
    std::lock_guard lock(state_->mutex);
    std::string key = key_of(name, labels);
    auto found = state_->counters.find(key);
    if (found != state_->counters.end()) return *found->second;
    auto* family = static_cast<prometheus::Family<prometheus::Counter>*>(
        state_->family(Kind::counter, name, help, labels, {}));
    if (family == nullptr) return state_->null_counter;
    auto made = std::make_unique<CounterAdapter>(&family->Add(labels_of(labels)));
    return *state_->counters.emplace(key, std::move(made)).first->second;
  } catch (const std::exception& e) {
    state_->refuse(name, e.what());
    return state_->null_counter;
  }
}

GaugeMetric& MetricsRegistry::gauge(const char* name, const char* help,
                                    std::initializer_list<MetricLabel> labels) noexcept {
  try {
    std::lock_guard lock(state_->mutex);
    std::string key = key_of(name, labels);
    auto found = state_->gauges.find(key);
    if (found != state_->gauges.end()) return *found->second;
    auto* family =
        static_cast<prometheus::Family<prometheus::Gauge>*>(state_->family(Kind::gauge, name, help, labels, {}));
    if (family == nullptr) return state_->null_gauge;
    auto made = std::make_unique<GaugeAdapter>(&family->Add(labels_of(labels)));
    return *state_->gauges.emplace(key, std::move(made)).first->second;
  } catch (const std::exception& e) {
    state_->refuse(name, e.what());
    return state_->null_gauge;
  }
}

HistogramMetric& MetricsRegistry::histogram(const char* name, const char* help, std::initializer_list<double> bounds,
                                            std::initializer_list<MetricLabel> labels) noexcept {
  try {
    std::vector<double> bucket_bounds(bounds);
    for (std::size_t i = 1; i < bucket_bounds.size(); ++i) {
      if (!(bucket_bounds[i - 1] < bucket_bounds[i])) {
        std::lock_guard lock(state_->mutex);
        state_->refuse(name, "bucket bounds must increase");
        return state_->null_histogram;
      }
    }
    std::lock_guard lock(state_->mutex);
    std::string key = key_of(name, labels);
    auto found = state_->histograms.find(key);
    if (found != state_->histograms.end()) return *found->second;
    auto* family = static_cast<prometheus::Family<prometheus::Histogram>*>(
        state_->family(Kind::histogram, name, help, labels, bucket_bounds));
    if (family == nullptr) return state_->null_histogram;
    auto made = std::make_unique<HistogramAdapter>(&family->Add(labels_of(labels), bucket_bounds));
    return *state_->histograms.emplace(key, std::move(made)).first->second;
  } catch (const std::exception& e) {
    state_->refuse(name, e.what());
    return state_->null_histogram;
  }
}

void MetricsRegistry::add_source(Source source) {
  std::lock_guard lock(state_->scrape_mutex);
  state_->sources.push_back(std::move(source));
}

std::string MetricsRegistry::scrape() const {
  std::lock_guard lock(state_->scrape_mutex);
  std::vector<prometheus::MetricFamily> families = state_->registry.Collect();
  for (const Source& source : state_->sources) source(&families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace flashsale
