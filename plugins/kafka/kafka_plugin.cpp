// The kafka backend family: the relay stage on librdkafka. The producer and
// the consumer are made on first use, so a process whose roles need only one
// of them (relay, or consumer) never opens the other.
#include <librdkafka/rdkafka.h>

#include <memory>
#include <mutex>

#include "flashsale/plugin.h"
#include "kafka_conf.h"
#include "kafka_publisher.h"
#include "kafka_settings.h"
#include "kafka_subscriber.h"

namespace flashsale::kafka {

namespace {

class KafkaRelay : public Relay {
 public:
  KafkaRelay(const Settings& settings, Logger* logger) : publisher_(settings, logger), subscriber_(settings, logger) {}

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
  KafkaBackend(const Settings& settings, Logger* logger) : settings_(settings), logger_(logger) {}
  ~KafkaBackend() override {
    if (probe_ != nullptr) rd_kafka_destroy(probe_);
  }
  KafkaBackend(const KafkaBackend&) = delete;
  KafkaBackend& operator=(const KafkaBackend&) = delete;

  // Asks a broker for the topic's metadata. The handle is made on the first
  // call, so a process nobody asks never opens it.
  Status ready() noexcept override {
    try {
      std::lock_guard lock(probe_mutex_);
      if (probe_ == nullptr) {
        std::string error;
        rd_kafka_conf_t* conf = producer_conf(settings_, &error);
        if (conf == nullptr) return {Code::internal, error};
        char errstr[512];
        probe_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (probe_ == nullptr) {
          rd_kafka_conf_destroy(conf);
          return {Code::internal, errstr};
        }
      }
      const struct rd_kafka_metadata* metadata = nullptr;
      rd_kafka_resp_err_t err = rd_kafka_metadata(probe_, 1, nullptr, &metadata, 1000);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return {Code::unavailable, "kafka.brokers " + settings_.get(setting::kBrokers) + ": " + rd_kafka_err2str(err)};
      }
      rd_kafka_metadata_destroy(metadata);
      return Status::ok();
    } catch (const std::exception& e) {
      return {Code::internal, e.what()};
    }
  }

  Relay* make_relay(std::string* error) noexcept override {
    try {
      return new KafkaRelay(settings_, logger_);
    } catch (const std::exception& e) {
      *error = e.what();
      return nullptr;
    }
  }

 private:
  Settings settings_;
  Logger* logger_;
  std::mutex probe_mutex_;
  rd_kafka_t* probe_ = nullptr;  // for ready(), made on its first call
};

Backend* make_backend(const Settings& settings, const HostServices& host, std::string* error) noexcept {
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
    return new KafkaBackend(settings, host.logger);
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

const PluginDescriptor descriptor{kPluginAbiVersion, "kafka", &make_backend, setting::kAll, setting::kCount, "relay"};

}  // namespace

}  // namespace flashsale::kafka

FLASHSALE_PLUGIN(flashsale::kafka::descriptor)
