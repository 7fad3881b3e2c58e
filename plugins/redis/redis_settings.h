// The keys the redis family reads besides core's, as its descriptor declares
// them: the one place their defaults, ranges and help live.
#pragma once

#include <iterator>

#include "flashsale/settings.h"

namespace flashsale::redis::setting {

inline constexpr SettingSpec kAddr = SettingSpec::required(
    "redis.addr", "localhost:6379", "Redis host:port; on a cluster, seed nodes host:port,host:port,...");
inline constexpr SettingSpec kCluster = SettingSpec::text(
    "redis.cluster", "false", "true: Redis Cluster (slot map, MOVED/ASK); implied by more than one redis.addr");
inline constexpr SettingSpec kDb = SettingSpec::integer("redis.db", "0", 0, 1024, "Redis database number");
inline constexpr SettingSpec kPoolSize =
    SettingSpec::integer("redis.pool.size", "8", 1, 1024, "idle Redis connections kept open (more are opened on demand)");
inline constexpr SettingSpec kPipelineConnections = SettingSpec::integer(
    "redis.pipeline.connections", "1", 1, 64, "Redis connections (each with an I/O thread) the buy path pipelines over");
inline constexpr SettingSpec kConnectTimeout =
    SettingSpec::integer("redis.connect.timeout.ms", "1000", 1, 600000, "Redis connect timeout, ms");
inline constexpr SettingSpec kCommandTimeout = SettingSpec::integer(
    "redis.command.timeout.ms", "1000", 1, 600000, "Redis command timeout, ms (a blocking outbox read adds its wait)");
inline constexpr SettingSpec kWaitReplicas = SettingSpec::integer(
    "redis.wait.replicas", "0", 0, 16,
    "replicas an admission and a final write must reach (WAIT) before they count as done; 0: no WAIT");
inline constexpr SettingSpec kWaitTimeout = SettingSpec::integer(
    "redis.wait.timeout.ms", "200", 1, 60000, "how long a WAIT for redis.wait.replicas may take, ms");
inline constexpr SettingSpec kStream =
    SettingSpec::required("order.event.stream", "flash_sale:order_events", "Redis Stream of the outbox");
inline constexpr SettingSpec kGroup =
    SettingSpec::required("order.event.group", "flash-sale-relay-group", "consumer group on the outbox stream");
inline constexpr SettingSpec kConsumer = SettingSpec::required("order.event.consumer", "flash-sale-relay-1",
                                                               "this relay's consumer name in that group");

inline constexpr SettingSpec kAll[] = {kAddr,           kCluster,      kWaitReplicas, kWaitTimeout, kDb,           kPoolSize, kPipelineConnections, kConnectTimeout,
                                       kCommandTimeout, kStream,       kGroup,    kConsumer};
inline constexpr std::size_t kCount = std::size(kAll);

}  // namespace flashsale::redis::setting
