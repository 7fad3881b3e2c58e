#include "kafka_conf.h"

#include "kafka_settings.h"

namespace flashsale::kafka {

namespace {

bool set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value, const std::string& key,
         std::string* error) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    *error = key + " (" + Settings::env_name(key) + "): " + errstr;
    return false;
  }
  return true;
}

// kafka.<role>.<property> = value → property = value.
bool pass_through(rd_kafka_conf_t* conf, const Settings& settings, const SettingSpec& role, std::string* error) {
  std::string prefix = role.key;
  for (const auto& [key, value] : settings.values()) {
    if (key.rfind(prefix, 0) == 0 && !set(conf, key.substr(prefix.size()), value, key, error)) return false;
  }
  return true;
}

rd_kafka_conf_t* common(const Settings& settings, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // No Nagle: requests are small and latency-bound (a relay batch waits for
  // its acks); KAFKA_PRODUCER_/KAFKA_CONSUMER_SOCKET_NAGLE_DISABLE override.
  if (!set(conf, "bootstrap.servers", settings.get(setting::kBrokers), setting::kBrokers.key, error) ||
      !set(conf, "client.id", "flashsale", "kafka.brokers", error) ||
      !set(conf, "socket.nagle.disable", "true", "kafka.brokers", error)) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

}  // namespace

rd_kafka_conf_t* producer_conf(const Settings& settings, std::string* error) {
  rd_kafka_conf_t* conf = common(settings, error);
  if (conf == nullptr) return nullptr;
  bool ok = pass_through(conf, settings, setting::kProducer, error) &&
            set(conf, "delivery.timeout.ms", settings.get(setting::kDeliveryTimeout), setting::kDeliveryTimeout.key,
                error) &&
            set(conf, "linger.ms", settings.get(setting::kLinger), setting::kLinger.key, error) &&
            // The guarantee: a write counts only once every in-sync replica has it,
            // and retries never duplicate or reorder within a partition.
            set(conf, "acks", "all", "kafka.producer.acks", error) &&
            set(conf, "enable.idempotence", "true", "kafka.producer.enable.idempotence", error);
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

rd_kafka_conf_t* consumer_conf(const Settings& settings, std::string* error) {
  rd_kafka_conf_t* conf = common(settings, error);
  if (conf == nullptr) return nullptr;
  // How long a fetch may wait on an empty partition. Kafka answers as soon
  // as data arrives, so this costs nothing there; the dev broker (librdkafka's
  // mock cluster) only answers at the timeout, and librdkafka's 500 ms
  // default became the consumer's lag. Before pass_through: overridable.
  bool ok =
      set(conf, "fetch.wait.max.ms", settings.get(setting::kFetchWaitMax), setting::kFetchWaitMax.key, error) &&
      pass_through(conf, settings, setting::kConsumer, error) &&
      set(conf, "group.id", settings.get(setting::kGroupId), setting::kGroupId.key, error) &&
      set(conf, "auto.offset.reset", "earliest", "kafka.consumer.auto.offset.reset", error) &&
      // Offsets move only when the consumer worker says the batch is
      // persisted and notified.
      set(conf, "enable.auto.commit", "false", "kafka.consumer.enable.auto.commit", error) &&
      set(conf, "enable.auto.offset.store", "false", "kafka.consumer.enable.auto.offset.store", error) &&
      set(conf, "enable.partition.eof", "false", "kafka.consumer.enable.partition.eof", error);
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

}  // namespace flashsale::kafka
