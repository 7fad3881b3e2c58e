// The librdkafka settings the kafka family builds: latency-minded defaults
// (no Nagle, short empty-fetch waits, 1 ms linger) that a user may override,
// and the guarantee-carrying ones that stay fixed.
#include <catch2/catch.hpp>

#include <memory>

#include "kafka_conf.h"

namespace {

struct ConfFree {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfFree>;

std::string value(const Conf& conf, const char* name) {
  char text[256];
  size_t size = sizeof text;
  REQUIRE(rd_kafka_conf_get(conf.get(), name, text, &size) == RD_KAFKA_CONF_OK);
  return text;
}

flashsale::Settings base() {
  return flashsale::Settings({{"kafka.brokers", "127.0.0.1:9"}, {"kafka.group.id", "g"}});
}

}  // namespace

TEST_CASE("kafka settings: no Nagle, a short wait on empty fetches, a 1 ms linger", "[kafka][conf]") {
  std::string error;
  Conf consumer(flashsale::kafka::consumer_conf(base(), &error));
  REQUIRE(consumer);
  CHECK(value(consumer, "fetch.wait.max.ms") == "10");
  CHECK(value(consumer, "socket.nagle.disable") == "true");
  CHECK(value(consumer, "enable.auto.commit") == "false");
  Conf producer(flashsale::kafka::producer_conf(base(), &error));
  REQUIRE(producer);
  CHECK(value(producer, "linger.ms") == "1");
  CHECK(value(producer, "socket.nagle.disable") == "true");
  CHECK(value(producer, "acks") == "-1");  // all
}

TEST_CASE("kafka settings: the latency defaults can be overridden, the guarantees cannot", "[kafka][conf]") {
  std::string error;
  flashsale::Settings settings = base();
  settings.set("kafka.fetch.wait.max.ms", "50");
  CHECK(value(Conf(flashsale::kafka::consumer_conf(settings, &error)), "fetch.wait.max.ms") == "50");
  settings.set("kafka.consumer.fetch.wait.max.ms", "200");  // the pass-through wins
  settings.set("kafka.consumer.enable.auto.commit", "true");
  Conf consumer(flashsale::kafka::consumer_conf(settings, &error));
  REQUIRE(consumer);
  CHECK(value(consumer, "fetch.wait.max.ms") == "200");
  CHECK(value(consumer, "enable.auto.commit") == "false");

  settings.set("kafka.fetch.wait.max.ms", "soon");
  CHECK_FALSE(Conf(flashsale::kafka::consumer_conf(settings, &error)));
  CHECK_THAT(error, Catch::StartsWith("kafka.fetch.wait.max.ms (KAFKA_FETCH_WAIT_MAX_MS)"));
}
