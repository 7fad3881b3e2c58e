// Builds librdkafka configurations from flashsale settings. The settings that
// carry the delivery guarantee (acks, idempotence, manual commits) are fixed
// here and cannot be overridden; anything else librdkafka knows can be passed
// through as kafka.producer.<property> / kafka.consumer.<property>.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>

#include "flashsale/settings.h"

namespace flashsale::kafka {

// Returns nullptr and sets *error (naming the key) on a bad value.
rd_kafka_conf_t* producer_conf(const Settings& settings, std::string* error);
rd_kafka_conf_t* consumer_conf(const Settings& settings, std::string* error);

}  // namespace flashsale::kafka
