// The kafka backend family: the relay stage on librdkafka. The producer and
// the consumer are made on first use, so a process whose roles need only one
// of them (relay, or consumer) never opens the other.
#include <memory>
#include <mutex>

#include "flashsale/plugin.h"
#include "kafka_settings.h"
#include "kafka_publisher.h"
#include "kafka_subscriber.h"

namespace flashsale::kafka {

namespace {

class KafkaRelay : public Relay {
 public:
  explicit KafkaRelay(const Settings& settings) : publisher_(settings), subscriber_(settings) {}

  Status publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered) noexcept override {
    try {
      return publisher_.publish(events, delivered);
    } catch (const std::exception& e) {
      return {Code::internal, e.what()};
    }
  }

  Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out) noexcept override {
    try {
      return subscriber_.poll(max, wait, out);
    } catch (const std::exception& e) {
      return {Code::internal, e.what()};
    }
  }

  Status commit() noexcept override {
    try {
      return subscriber_.commit();
    } catch (const std::exception& e) {
      return {Code::internal, e.what()};
    }
  }

 private:
  Publisher publisher_;
  Subscriber subscriber_;
};

class KafkaBackend : public Backend {
 public:
  explicit KafkaBackend(const Settings& settings) : settings_(settings) {}

  Relay* make_relay(std::string* error) noexcept override {
    try {
      return new KafkaRelay(settings_);
    } catch (const std::exception& e) {
      *error = e.what();
      return nullptr;
    }
  }

 private:
  Settings settings_;
};

Backend* make_backend(const Settings& settings, std::string* error) noexcept {
  try {
    if (settings.get(setting::kBrokers).empty()) {
      *error = "kafka.brokers (KAFKA_BROKERS) must name at least one broker";
      return nullptr;
    }
    if (settings.get(setting::kTopic).empty()) {
      *error = "kafka.topic (KAFKA_TOPIC) must not be empty";
      return nullptr;
    }
    std::string bad;
    settings.get_int(setting::kDeliveryTimeout, &bad);
    if (!bad.empty()) {
      *error = bad;
      return nullptr;
    }
    return new KafkaBackend(settings);
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

const PluginDescriptor descriptor{kPluginAbiVersion, "kafka", &make_backend, setting::kAll, setting::kCount, "relay"};

}  // namespace

}  // namespace flashsale::kafka

FLASHSALE_PLUGIN(flashsale::kafka::descriptor)
