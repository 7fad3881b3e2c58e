// The consuming half of the Kafka relay: one member of the consumer group
// kafka.group.id. Offsets are committed only when the consumer worker says
// the polled events are persisted and notified; a partition revoked in a
// rebalance is never committed by this member afterwards (its new owner
// re-reads from the last commit, which the unique keys make harmless).
// A message that does not decode, or that the consumer rejected
// kafka.max.attempts times, is written to the dead-letter topic before its
// offset may commit; should that write fail, the message is read again
// (a poison one: the partition is sought back to it), never skipped.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "flashsale/host_services.h"
#include "flashsale/settings.h"
#include "flashsale/status.h"
#include "flashsale/types.h"
#include "kafka_dead_letters.h"

namespace flashsale::kafka {

class Subscriber {
 public:
  // `host`'s services and `dead_letters` outlive the subscriber.
  Subscriber(Settings settings, const HostServices& host, DeadLetterTopic* dead_letters);
  ~Subscriber();

  Status poll(std::size_t max, std::chrono::milliseconds wait, std::vector<OrderEvent>* out);
  Status commit();
  // Relay::reject.
  Status reject(const OrderEvent& event, const std::string& reason, bool* dead_lettered);

  // Called by librdkafka inside poll (on the polling thread).
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);

 private:
  Status ensure_consumer();
  // Writes an undecodable message to the dead letters; false (the partition
  // sought back to it) when that failed.
  bool dead_letter_poison(const rd_kafka_message_t* message, const std::string& error);

  // flashsale_kafka_consumer_lag of `partition`: the high watermark librdkafka
  // last saw minus `next`, the next offset this member reads or commits.
  // Measured at each poll and commit, so a member that stops polling stops
  // updating it (the alerts on final states cover that).
  void record_lag(std::int32_t partition, std::int64_t next);

  Logger* logger_;
  Metrics* metrics_;
  CounterMetric* poison_;         // flashsale_kafka_poison_messages_total
  CounterMetric* dead_lettered_;  // flashsale_kafka_dead_lettered_total
  std::map<std::int32_t, GaugeMetric*> lag_;
  DeadLetterTopic* dead_letters_;
  Settings settings_;
  std::string topic_;
  std::uint32_t max_attempts_;
  rd_kafka_t* consumer_ = nullptr;
  std::map<std::int32_t, std::int64_t> uncommitted_;  // partition → next offset to commit
  // Since the last commit: where each polled event came from, and how often
  // the consumer rejected it.
  std::unordered_map<std::string, Origin> polled_;
  std::unordered_map<std::string, std::uint32_t> attempts_;
};

}  // namespace flashsale::kafka
