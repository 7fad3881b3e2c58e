#include "kafka_subscriber.h"

#include <cstring>

#include "flashsale/event_codec.h"
#include "kafka_conf.h"
#include "kafka_settings.h"

namespace flashsale::kafka {

namespace {

void rebalance_trampoline(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
  static_cast<Subscriber*>(opaque)->on_rebalance(err, partitions);
}

}  // namespace

Subscriber::Subscriber(Settings settings, Logger* logger)
    : logger_(logger), settings_(std::move(settings)), topic_(settings_.get(setting::kTopic)) {}

Subscriber::~Subscriber() {
  if (consumer_ == nullptr) return;
  rd_kafka_consumer_close(consumer_);  // leaves the group; uncommitted work is redelivered
  rd_kafka_destroy(consumer_);
}

Status Subscriber::ensure_consumer() {
  if (consumer_ != nullptr) return Status::ok();
  std::string error;
  rd_kafka_conf_t* conf = consumer_conf(settings_, &error);
  if (conf == nullptr) return {Code::internal, error};
  rd_kafka_conf_set_rebalance_cb(conf, &rebalance_trampoline);
  rd_kafka_conf_set_opaque(conf, this);
  char errstr[512];
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (consumer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return {Code::unavailable, std::string("kafka consumer: ") + errstr};
  }
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic_.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(consumer);
    return {Code::unavailable, std::string("kafka subscribe: ") + rd_kafka_err2str(err)};
  }
  consumer_ = consumer;
  return Status::ok();
}

void Subscriber::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(consumer_), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_assign(consumer_, partitions));
    else
      rd_kafka_assign(consumer_, partitions);
    return;
  }
  // Revoked: whatever we polled from these partitions is no longer ours to commit.
  for (int i = 0; i < partitions->cnt; ++i) uncommitted_.erase(partitions->elems[i].partition);
  if (cooperative)
    rd_kafka_error_destroy(rd_kafka_incremental_unassign(consumer_, partitions));
  else
    rd_kafka_assign(consumer_, nullptr);
}

Status Subscriber::poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out) {
  Status ready = ensure_consumer();
  if (!ready.is_ok()) return ready;
  int timeout = static_cast<int>(wait.count());
  std::size_t taken = 0;
  while (taken < max) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, timeout);
    if (message == nullptr) break;
    timeout = 0;  // after the first message, take only what is already here
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Transport and broker errors are informational: librdkafka recovers.
      logger_->log(LogLevel::warning, "kafka consumer", rd_kafka_message_errstr(message));
      rd_kafka_message_destroy(message);
      continue;
    }
    OrderEvent event;
    std::string error;
    std::string_view value(static_cast<const char*>(message->payload), message->len);
    if (decode_event(value, &event, &error)) {
      out->push_back(std::move(event));
      ++taken;
    } else {
      // A poison message is skipped (its offset commits with the batch), never
      // retried forever and never dropped without a trace.
      ++poison_skipped_;
      logger_->log(LogLevel::error, "kafka consumer",
                   "skipping undecodable message " + topic_ + "/" + std::to_string(message->partition) + "@" +
                       std::to_string(message->offset) + ": " + error);
    }
    std::int64_t& next = uncommitted_[message->partition];
    next = std::max(next, message->offset + 1);
    rd_kafka_message_destroy(message);
  }
  return Status::ok();
}

Status Subscriber::commit() {
  if (consumer_ == nullptr || uncommitted_.empty()) return Status::ok();
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(static_cast<int>(uncommitted_.size()));
  for (const auto& [partition, offset] : uncommitted_) {
    rd_kafka_topic_partition_list_add(offsets, topic_.c_str(), partition)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer_, offsets, 0 /* synchronous */);
  rd_kafka_topic_partition_list_destroy(offsets);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {Code::unavailable, std::string("kafka commit: ") + rd_kafka_err2str(err)};
  }
  uncommitted_.clear();
  return Status::ok();
}

}  // namespace flashsale::kafka
