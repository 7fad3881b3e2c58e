// The keys the kafka family reads, as its descriptor declares them: the one
// place their defaults, ranges and help live.
#pragma once

#include <iterator>

#include "flashsale/settings.h"

namespace flashsale::kafka::setting {

inline constexpr SettingSpec kBrokers =
    SettingSpec::required("kafka.brokers", "localhost:9092", "Kafka bootstrap servers, comma separated");
inline constexpr SettingSpec kTopic =
    SettingSpec::required("kafka.topic", "flash-sale-orders", "Kafka topic of order events");
inline constexpr SettingSpec kGroupId =
    SettingSpec::required("kafka.group.id", "flash-sale-order-consumer", "Kafka consumer group");
inline constexpr SettingSpec kDeliveryTimeout =
    SettingSpec::integer("kafka.delivery.timeout.ms", "30000", 1000, 3600000,
                         "how long a publish may take before it counts as not delivered (then retried), ms");
inline constexpr SettingSpec kLinger = SettingSpec::integer(
    "kafka.linger.ms", "1", 0, 900000, "producer batching delay, ms (the relay hands over whole batches already)");
inline constexpr SettingSpec kFetchWaitMax = SettingSpec::integer(
    "kafka.fetch.wait.max.ms", "10", 0, 300000, "longest a consumer fetch waits on an empty partition, ms");
inline constexpr SettingSpec kMaxAttempts = SettingSpec::integer(
    "kafka.max.attempts", "5", 1, 1000000,
    "times the consumer may fail to persist a message (not counting outages) before it goes to kafka.dlq.topic");
inline constexpr SettingSpec kDlqTopic = SettingSpec::text(
    "kafka.dlq.topic", "", "dead-letter topic for messages the consumer cannot process (empty = <kafka.topic>.dlq)");
inline constexpr SettingSpec kDlqListMax = SettingSpec::integer(
    "kafka.dlq.list.max", "100000", 1, 10000000,
    "most messages of kafka.dlq.topic one dead-letter listing reads; a larger topic is refused (read it with kcat)");
inline constexpr SettingSpec kDlqListTimeout = SettingSpec::integer(
    "kafka.dlq.list.timeout.ms", "15000", 1, 600000, "longest one dead-letter listing may spend reading, ms");
inline constexpr SettingSpec kProducer =
    SettingSpec::prefix("kafka.producer.", "any librdkafka producer property (acks and idempotence stay fixed)");
inline constexpr SettingSpec kConsumer = SettingSpec::prefix(
    "kafka.consumer.", "any librdkafka consumer property (group, commits and offset reset stay fixed)");

inline constexpr SettingSpec kAll[] = {kBrokers,     kTopic,    kGroupId,    kDeliveryTimeout, kLinger,   kFetchWaitMax,
                                       kMaxAttempts, kDlqTopic, kDlqListMax, kDlqListTimeout,  kProducer, kConsumer};
inline constexpr std::size_t kCount = std::size(kAll);

}  // namespace flashsale::kafka::setting
