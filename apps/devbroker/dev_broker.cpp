#include "dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <vector>

namespace flashsale {

DevBroker::DevBroker(int brokers, const std::string& topic, int partitions) : brokers_(brokers) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("dev broker: ") + errstr);
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("dev broker: cannot create the mock cluster");
  }
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, brokers < 3 ? brokers : 3);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
    throw std::runtime_error(std::string("dev broker: cannot create topic ") + topic + ": " + rd_kafka_err2str(err));
  }
}

DevBroker::~DevBroker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

std::string DevBroker::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

void DevBroker::set_down(std::int32_t broker_id) {
  rd_kafka_mock_broker_set_down(cluster_, broker_id);
}

void DevBroker::set_up(std::int32_t broker_id) {
  rd_kafka_mock_broker_set_up(cluster_, broker_id);
}

void DevBroker::push_request_errors(std::int16_t api_key, int count, int error) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count), static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

}  // namespace flashsale
