// The producing half of the Kafka relay. A batch is published and the call
// waits for every delivery report: only a report of a persisted write counts
// as delivered. A possibly-persisted outcome counts as not delivered, so the
// outbox keeps the entry and it is published again (the consumer side's
// unique keys absorb the duplicate).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "flashsale/host_services.h"
#include "flashsale/settings.h"
#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale::kafka {

class Publisher {
 public:
  // `logger` (the host's) outlives the publisher.
  Publisher(Settings settings, Logger* logger);
  ~Publisher();

  Status publish(const std::vector<OrderEvent>& events, std::vector<bool>* delivered);

  // Any one message (a dead letter, a replay, a replay's marker), with the
  // same guarantee as publish: ok only once it is durably written.
  struct Message {
    std::string topic;
    std::int32_t partition = RD_KAFKA_PARTITION_UA;  // UA: by key
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Status produce(const Message& message);

  struct Batch;  // delivery slots of one publish call

 private:
  Logger* logger_;
  Status ensure_producer();
  void drop_producer();
  // Waits for every slot's delivery report (bounded), then sets *failed and
  // *first_error; the producer's lock is held.
  void await(Batch& batch, std::size_t* failed, std::string* first_error);

  Settings settings_;
  std::string topic_;
  int delivery_timeout_ms_;
  std::mutex mutex_;  // one publish at a time: delivery reports are served on the caller's thread
  rd_kafka_t* producer_ = nullptr;
};

}  // namespace flashsale::kafka
