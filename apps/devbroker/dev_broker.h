// A Kafka-protocol broker on loopback for development and tests, built on
// librdkafka's mock cluster: real TCP, real wire protocol, consumer groups,
// idempotent producers; data in memory only, so never for production. Tests
// use this class directly to take brokers down and inject request errors.
#pragma once

#include <cstdint>
#include <string>

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace flashsale {

class DevBroker {
 public:
  // Throws std::runtime_error if the cluster cannot be made.
  DevBroker(int brokers, const std::string& topic, int partitions);
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  std::string bootstrap() const;
  int brokers() const { return brokers_; }

  void set_down(std::int32_t broker_id);  // broker ids are 1..brokers()
  void set_up(std::int32_t broker_id);
  // The next `count` requests of kind `api_key` (e.g. 0 = Produce) fail with `error`.
  void push_request_errors(std::int16_t api_key, int count, int error);

  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

 private:
  int brokers_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace flashsale
