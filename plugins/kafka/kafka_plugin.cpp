// The kafka backend family: the relay stage on librdkafka. The producer and
// the consumer are made on first use, so a process whose roles need only one
// of them (relay, or consumer) never opens the other. The dead letters live
// in their own topic (kafka_dead_letters.h), written through the same
// producer.
#include <librdkafka/rdkafka.h>

#include <memory>
#include <mutex>

#include "flashsale/boundary.h"
#include "flashsale/plugin.h"
#include "kafka_conf.h"
#include "kafka_dead_letters.h"
#include "kafka_publisher.h"
#include "kafka_settings.h"
#include "kafka_subscriber.h"

namespace flashsale::kafka {

namespace {

class KafkaRelay : public Relay {
 public:
  KafkaRelay(const Settings& settings, const HostServices& host)
      : publisher_(settings, host.logger),
        dead_letters_(settings, host.logger, &publisher_),
        subscriber_(settings, host, &dead_letters_) {}

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
    return guarded("kafka commit", [&] { return subscriber_.commit(); });
  }

  Status reject(const OrderEvent& event, const std::string& reason, bool* dead_lettered) noexcept override {
    return guarded("kafka reject", [&] { return subscriber_.reject(event, reason, dead_lettered); });
  }

  Status stats(RelayStats* stats) noexcept override {
    *stats = dead_letters_.stats();
    return Status::ok();
  }

  Status list_dead_letters(const std::string& after, std::size_t limit,
                           std::vector<DeadLetter>* out) noexcept override {
    return guarded("kafka dead letters", [&] { return dead_letters_.list(after, limit, out); });
  }

  Status find_dead_letter(const std::string& id, DeadLetter* out) noexcept override {
    return guarded("kafka dead letter", [&] { return dead_letters_.find(id, out); });
  }

  Status replay_dead_letter(const std::string& id) noexcept override {
    return guarded("kafka replay", [&] { return dead_letters_.replay(id); });
  }

 private:
  Publisher publisher_;
  DeadLetterTopic dead_letters_;
  Subscriber subscriber_;
};

class KafkaBackend : public Backend {
 public:
  KafkaBackend(const Settings& settings, const HostServices& host) : settings_(settings), host_(host) {}
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
      return new KafkaRelay(settings_, host_);
    } catch (const std::exception& e) {
      *error = e.what();
      return nullptr;
    }
  }

 private:
  Settings settings_;
  HostServices host_;
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
    settings.get_int(setting::kMaxAttempts, &bad);
    settings.get_int(setting::kDlqListMax, &bad);
    settings.get_int(setting::kDlqListTimeout, &bad);
    if (!bad.empty()) {
      *error = bad;
      return nullptr;
    }
    return new KafkaBackend(settings, host);
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

const PluginDescriptor descriptor{kPluginAbiVersion, "kafka", &make_backend, setting::kAll, setting::kCount, "relay"};

}  // namespace

}  // namespace flashsale::kafka

FLASHSALE_PLUGIN(flashsale::kafka::descriptor)
