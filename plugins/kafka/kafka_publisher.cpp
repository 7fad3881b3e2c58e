#include "kafka_publisher.h"

#include <chrono>

#include "flashsale/event_codec.h"
#include "kafka_conf.h"
#include "kafka_settings.h"

namespace flashsale::kafka {

struct Publisher::Batch {
  struct Slot {
    bool done = false;
    bool persisted = false;
    std::string error;
  };
  std::vector<Slot> slots;
};

namespace {

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* slot = static_cast<Publisher::Batch::Slot*>(message->_private);
  slot->done = true;
  slot->persisted =
      message->err == RD_KAFKA_RESP_ERR_NO_ERROR && rd_kafka_message_status(message) == RD_KAFKA_MSG_STATUS_PERSISTED;
  if (!slot->persisted) {
    slot->error = rd_kafka_err2str(message->err);
    if (rd_kafka_message_status(message) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED) {
      slot->error += " (possibly persisted: will be published again)";
    }
  }
}

std::size_t count_pending(const Publisher::Batch& batch) {
  std::size_t pending = 0;
  for (const auto& slot : batch.slots) pending += slot.done ? 0 : 1;
  return pending;
}

}  // namespace

Publisher::Publisher(Settings settings, Logger* logger)
    : logger_(logger),
      settings_(std::move(settings)),
      topic_(settings_.get(setting::kTopic)),
      delivery_timeout_ms_(static_cast<int>(settings_.get_int(setting::kDeliveryTimeout, nullptr))) {}

Publisher::~Publisher() {
  drop_producer();
}

Status Publisher::ensure_producer() {
  if (producer_ != nullptr) return Status::ok();
  std::string error;
  rd_kafka_conf_t* conf = producer_conf(settings_, &error);
  if (conf == nullptr) return {Code::internal, error};
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  char errstr[512];
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);  // takes conf on success
  if (producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return {Code::unavailable, std::string("kafka producer: ") + errstr};
  }
  return Status::ok();
}

void Publisher::drop_producer() {
  if (producer_ == nullptr) return;
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(producer_, 1000);
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
}

Status Publisher::publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered) {
  delivered->assign(events.size(), false);
  std::lock_guard lock(mutex_);
  Status ready = ensure_producer();
  if (!ready.is_ok()) return ready;

  Batch batch;
  batch.slots.resize(events.size());
  std::string first_error;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const OrderEvent& event = events[i];
    // One key per (product, user): that user's events for the product stay in
    // one partition, in order.
    std::string key = std::to_string(event.product_id) + ":" + std::to_string(event.user_id);
    std::string value = encode_event(event);
    for (;;) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
                            RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE(&batch.slots[i]), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer_, 50);
        continue;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        batch.slots[i].done = true;
        batch.slots[i].error = rd_kafka_err2str(err);
      }
      break;
    }
  }

  std::size_t failed = 0;
  await(batch, &failed, &first_error);
  for (std::size_t i = 0; i < events.size(); ++i) (*delivered)[i] = batch.slots[i].persisted;
  if (failed > 0) {
    return {Code::unavailable,
            std::to_string(failed) + " of " + std::to_string(events.size()) + " events not delivered: " + first_error};
  }
  return Status::ok();
}

Status Publisher::produce(const Message& message) {
  std::lock_guard lock(mutex_);
  Status ready = ensure_producer();
  if (!ready.is_ok()) return ready;
  Batch batch;
  batch.slots.resize(1);
  rd_kafka_headers_t* headers = rd_kafka_headers_new(message.headers.size());
  for (const auto& [name, value] : message.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(message.topic.c_str()), RD_KAFKA_V_PARTITION(message.partition),
        RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&batch.slots[0]), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_, 50);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // owned by the message only once it is queued
      batch.slots[0].done = true;
      batch.slots[0].error = rd_kafka_err2str(err);
    }
    break;
  }
  std::size_t failed = 0;
  std::string error;
  await(batch, &failed, &error);
  if (failed > 0) return {Code::unavailable, "kafka produce to " + message.topic + ": " + error};
  return Status::ok();
}

void Publisher::await(Batch& batch, std::size_t* failed, std::string* first_error) {
  // Every produced message gets exactly one report within delivery.timeout.ms;
  // past a margin, purging forces the missing reports so no slot outlives us.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delivery_timeout_ms_ + 5000);
  while (count_pending(batch) > 0 && std::chrono::steady_clock::now() < deadline) rd_kafka_poll(producer_, 50);
  if (count_pending(batch) > 0) {
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    while (count_pending(batch) > 0) rd_kafka_poll(producer_, 50);
  }
  for (const Batch::Slot& slot : batch.slots) {
    if (slot.persisted) continue;
    ++*failed;
    if (first_error->empty()) *first_error = slot.error;
  }

  char fatal[512];
  if (rd_kafka_fatal_error(producer_, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // An idempotent producer that hit a fatal error refuses every later
    // message: start a fresh one instead of wedging the relay.
    logger_->log(LogLevel::error, "kafka producer", std::string("fatal error, recreating the producer: ") + fatal);
    drop_producer();
  }
}

}  // namespace flashsale::kafka
