// The consuming half of the Kafka relay: one member of the consumer group
// kafka.group.id. Offsets are committed only when the consumer worker says
// the polled events are persisted and notified; a partition revoked in a
// rebalance is never committed by this member afterwards (its new owner
// re-reads from the last commit, which the unique keys make harmless).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "flashsale/host_services.h"
#include "flashsale/settings.h"
#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale::kafka {

class Subscriber {
 public:
  // `logger` (the host's) outlives the subscriber.
  Subscriber(Settings settings, Logger* logger);
  ~Subscriber();

  Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out);
  Status commit();

  std::uint64_t poison_skipped() const { return poison_skipped_; }

  // Called by librdkafka inside poll (on the polling thread).
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);

 private:
  Logger* logger_;
  Status ensure_consumer();

  Settings settings_;
  std::string topic_;
  rd_kafka_t* consumer_ = nullptr;
  std::map<std::int32_t, std::int64_t> uncommitted_;  // partition → next offset to commit
  std::atomic<std::uint64_t> poison_skipped_{0};
};

}  // namespace flashsale::kafka
