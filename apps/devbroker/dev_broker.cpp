#include "dev_broker.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace flashsale {

namespace {

// librdkafka's mock brokers leave Nagle's algorithm on, where a real broker
// sets TCP_NODELAY: an answer written while the previous one is still
// unacknowledged then waits for the client's delayed ACK (~40 ms on Linux),
// so every other produce or fetch answer came late. Accepted sockets inherit
// TCP_NODELAY from their listener, so it is set on our brokers' listening
// sockets, found among this process's descriptors by their ports. Runs before
// the bootstrap address is handed out, so before any client connects.
void disable_nagle_on_listeners(const std::string& bootstrap) {
  std::set<int> ports;
  std::stringstream list(bootstrap);
  for (std::string address; std::getline(list, address, ',');) {
    auto colon = address.rfind(':');
    if (colon != std::string::npos) ports.insert(std::atoi(address.c_str() + colon + 1));
  }
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (dirent* entry = readdir(fds)) {
    int fd = std::atoi(entry->d_name);
    int listening = 0;
    socklen_t size = sizeof listening;
    if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) continue;
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 || address.sin_family != AF_INET ||
        ports.count(ntohs(address.sin_port)) == 0) {
      continue;
    }
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  closedir(fds);
}

}  // namespace

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
  disable_nagle_on_listeners(bootstrap());
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
