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

Subscriber::Subscriber(Settings settings, const HostServices& host, DeadLetterTopic* dead_letters)
    : logger_(host.logger),
      metrics_(host.metrics),
      dead_letters_(dead_letters),
      settings_(std::move(settings)),
      topic_(settings_.get(setting::kTopic)),
      max_attempts_(static_cast<std::uint32_t>(settings_.get_int(setting::kMaxAttempts, nullptr))) {
  poison_ = &metrics_->counter("flashsale_kafka_poison_messages_total",
                               "Relay messages that did not decode (moved to the dead-letter topic).",
                               {{"topic", topic_.c_str()}});
  dead_lettered_ = &metrics_->counter("flashsale_kafka_dead_lettered_total",
                                      "Relay messages moved to the dead-letter topic (poison or failing).",
                                      {{"topic", topic_.c_str()}});
}

void Subscriber::record_lag(std::int32_t partition, std::int64_t next) {
  std::int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(consumer_, topic_.c_str(), partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    return;  // not known yet
  }
  GaugeMetric*& gauge = lag_[partition];
  if (gauge == nullptr) {
    std::string number = std::to_string(partition);
    gauge = &metrics_->gauge("flashsale_kafka_consumer_lag",
                             "Messages of a partition not yet read by this consumer (high watermark - position).",
                             {{"topic", topic_.c_str()}, {"partition", number.c_str()}});
  }
  gauge->set(static_cast<double>(std::max<std::int64_t>(0, high - next)));
}

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
      polled_[event.request_id] = Origin{message->partition, message->offset};
      out->push_back(std::move(event));
      ++taken;
    } else if (!dead_letter_poison(message, error)) {
      rd_kafka_message_destroy(message);
      break;  // what was taken goes on; the poison message comes again
    }
    std::int64_t& next = uncommitted_[message->partition];
    next = std::max(next, message->offset + 1);
    record_lag(message->partition, next);
    rd_kafka_message_destroy(message);
  }
  return Status::ok();
}

bool Subscriber::dead_letter_poison(const rd_kafka_message_t* message, const std::string& error) {
  std::string where = topic_ + "/" + std::to_string(message->partition) + "@" + std::to_string(message->offset);
  std::string_view key;
  if (message->key != nullptr) key = std::string_view(static_cast<const char*>(message->key), message->key_len);
  std::string_view value;
  if (message->payload != nullptr) value = std::string_view(static_cast<const char*>(message->payload), message->len);
  Status written =
      dead_letters_->write(Origin{message->partition, message->offset}, key, value, "undecodable: " + error, 1);
  if (written.is_ok()) {
    poison_->increment();
    dead_lettered_->increment();
    logger_->log(LogLevel::error, "kafka consumer",
                 "undecodable message " + where + " moved to " + dead_letters_->topic() + ": " + error);
    return true;
  }
  logger_->log(LogLevel::error, "kafka consumer",
               "undecodable message " + where + " could not be dead-lettered, reading it again: " + written.message());
  rd_kafka_topic_partition_list_t* back = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(back, topic_.c_str(), message->partition)->offset = message->offset;
  rd_kafka_error_t* sought = rd_kafka_seek_partitions(consumer_, back, 5000);
  rd_kafka_topic_partition_list_destroy(back);
  if (sought != nullptr) {
    logger_->log(LogLevel::error, "kafka consumer", std::string("seek: ") + rd_kafka_error_string(sought));
    rd_kafka_error_destroy(sought);
  }
  return false;
}

Status Subscriber::reject(const OrderEvent& event, const std::string& reason, bool* dead_lettered) {
  *dead_lettered = false;
  std::uint32_t failed = ++attempts_[event.request_id];
  if (failed < max_attempts_) return Status::ok();
  auto polled = polled_.find(event.request_id);
  Origin origin = polled == polled_.end() ? Origin{-1, -1} : polled->second;  // -1: not known here
  std::string key = std::to_string(event.product_id) + ":" + std::to_string(event.user_id);
  Status written = dead_letters_->write(origin, key, encode_event(event), reason, failed);
  if (!written.is_ok()) return written;  // the next rejection tries again
  dead_lettered_->increment();
  logger_->log(LogLevel::error, "kafka consumer",
               "event " + event.request_id + " failed " + std::to_string(failed) + " times, moved to " +
                   dead_letters_->topic() + ": " + reason);
  attempts_.erase(event.request_id);
  *dead_lettered = true;
  return Status::ok();
}

Status Subscriber::commit() {
  polled_.clear();
  attempts_.clear();
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
  for (const auto& [partition, offset] : uncommitted_) record_lag(partition, offset);
  uncommitted_.clear();
  return Status::ok();
}

}  // namespace flashsale::kafka
