// The kafka relay against a real Kafka-protocol broker over TCP (the dev
// broker, in process so the tests can take it down and inject errors).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "dev_broker.h"
#include "flashsale/event_codec.h"
#include "host/plugin_host.h"
#include "pipeline/request_id.h"
#include "support/temp_dir.h"
#include "support/test_logger.h"

using namespace std::chrono_literals;
using flashsale::OrderEvent;

namespace {

struct KafkaFixture {
  explicit KafkaFixture(int partitions = 3) : broker(1, "orders", partitions) {}

  flashsale::DevBroker broker;
  flashsale::test::TempDir dir;

  flashsale::Config config(const std::string& group = "group-a") {
    char* no_env[] = {nullptr};
    flashsale::Config c = flashsale::load_config("", no_env, ".");
    c.plugin_dir = flashsale::test::plugin_dir();
    for (auto stage : flashsale::kAllStages) c.stage_backend[static_cast<int>(stage)] = "memory";
    c.stage_backend[static_cast<int>(flashsale::StageKind::relay)] = "kafka";
    c.settings.set("kafka.brokers", broker.bootstrap());
    c.settings.set("kafka.topic", "orders");
    c.settings.set("kafka.group.id", group);
    c.settings.set("kafka.delivery.timeout.ms", "3000");
    c.settings.set("kafka.consumer.session.timeout.ms", "6000");
    c.settings.set("db.path", dir.file("db"));
    return c;
  }

  std::shared_ptr<flashsale::Relay> relay(const std::string& group = "group-a") {
    return flashsale::PluginHost(config(group)).make_stages().relay;
  }
};

std::vector<OrderEvent> events(int count, int first_user = 1) {
  std::vector<OrderEvent> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({flashsale::new_request_id(), first_user + i, 7, 1, 399900, 1767261600000 + i});
  }
  return out;
}

// Polls until `count` events arrived or `timeout` passed.
std::vector<OrderEvent> poll_n(flashsale::Relay& relay, std::size_t count, std::chrono::seconds timeout = 30s) {
  std::vector<OrderEvent> got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(relay.poll(count - got.size(), 200ms, &got).is_ok());
  }
  return got;
}

void require_all_delivered(flashsale::Relay& relay, const std::vector<OrderEvent>& batch) {
  std::vector<bool> delivered;
  flashsale::Status status = relay.publish(batch, &delivered);
  INFO(status.message());
  REQUIRE(status.is_ok());
  REQUIRE(delivered.size() == batch.size());
  for (bool d : delivered) REQUIRE(d);
}

// This process's socket whose peer is `peer_port` on loopback, or -1.
int socket_with_peer_port(int peer_port) {
  DIR* fds = opendir("/proc/self/fd");
  REQUIRE(fds != nullptr);
  int found = -1;
  while (dirent* entry = readdir(fds)) {
    int fd = std::atoi(entry->d_name);
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    if (fd > 2 && getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0 && peer.sin_family == AF_INET &&
        ntohs(peer.sin_port) == peer_port) {
      found = fd;
    }
  }
  closedir(fds);
  return found;
}

}  // namespace

TEST_CASE("the dev broker answers without Nagle's delay: accepted connections have TCP_NODELAY", "[kafka]") {
  // With Nagle on, an answer written while the previous one is unacknowledged
  // waits for the client's delayed ACK (~40 ms): every other produce ack came late.
  flashsale::DevBroker broker{1, "orders", 1};
  std::string address = broker.bootstrap();
  int port = std::atoi(address.c_str() + address.rfind(':') + 1);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(client >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  sockaddr_in local{};
  socklen_t length = sizeof local;
  REQUIRE(getsockname(client, reinterpret_cast<sockaddr*>(&local), &length) == 0);

  int accepted = -1;  // the broker's end: its peer is our client's port
  for (int i = 0; i < 200 && accepted < 0; ++i) {
    accepted = socket_with_peer_port(ntohs(local.sin_port));
    if (accepted < 0) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(accepted >= 0);
  int nodelay = 0;
  socklen_t size = sizeof nodelay;
  REQUIRE(getsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &nodelay, &size) == 0);
  CHECK(nodelay != 0);
  close(client);
}

TEST_CASE("events published are polled back whole, and commit moves the group on", "[kafka]") {
  KafkaFixture kafka;
  auto relay = kafka.relay();
  auto sent = events(50);
  require_all_delivered(*relay, sent);
  auto got = poll_n(*relay, sent.size());
  REQUIRE(got.size() == sent.size());
  std::map<std::string, OrderEvent> by_id;
  for (const auto& e : got) by_id[e.request_id] = e;
  for (const auto& e : sent) {
    REQUIRE(by_id.count(e.request_id) == 1);
    CHECK(by_id[e.request_id].user_id == e.user_id);
    CHECK(by_id[e.request_id].product_id == e.product_id);
    CHECK(by_id[e.request_id].quantity == e.quantity);
    CHECK(by_id[e.request_id].unit_price == e.unit_price);
    CHECK(by_id[e.request_id].accepted_ms == e.accepted_ms);
  }
  REQUIRE(relay->commit().is_ok());
  relay.reset();

  // A new member of the same group starts after the committed offsets.
  auto next = kafka.relay();
  auto more = events(1, 1000);
  require_all_delivered(*next, more);
  auto after = poll_n(*next, 1);
  REQUIRE(after.size() == 1);
  CHECK(after[0].request_id == more[0].request_id);
  std::vector<OrderEvent> extra;
  REQUIRE(next->poll(10, 1000ms, &extra).is_ok());
  CHECK(extra.empty());
}

TEST_CASE("the consumer's lag per partition is the high watermark less what it has read", "[kafka]") {
  KafkaFixture kafka(1);
  flashsale::test::TestMetrics metrics;
  auto relay = flashsale::PluginHost(kafka.config(), {&flashsale::test::test_logger(), &metrics}).make_stages().relay;
  auto sent = events(20);
  require_all_delivered(*relay, sent);
  std::vector<OrderEvent> first;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       first.empty() && std::chrono::steady_clock::now() < deadline;) {
    REQUIRE(relay->poll(1, 500ms, &first).is_ok());
  }
  REQUIRE(first.size() == 1);
  CHECK(metrics.value("flashsale_kafka_consumer_lag", "topic=orders,partition=0") == 19);
  REQUIRE(poll_n(*relay, 19).size() == 19);
  REQUIRE(relay->commit().is_ok());
  CHECK(metrics.value("flashsale_kafka_consumer_lag", "topic=orders,partition=0") == 0);
}

TEST_CASE("what was polled but not committed is delivered again", "[kafka]") {
  KafkaFixture kafka;
  auto sent = events(20);
  {
    auto relay = kafka.relay();
    require_all_delivered(*relay, sent);
    REQUIRE(poll_n(*relay, sent.size()).size() == sent.size());
    // Crash stand-in: the consumer goes away without committing.
  }
  auto relay = kafka.relay();
  auto again = poll_n(*relay, sent.size());
  std::set<std::string> ids;
  for (const auto& e : again) ids.insert(e.request_id);
  for (const auto& e : sent) CHECK(ids.count(e.request_id) == 1);
}

TEST_CASE("injected produce errors are retried without loss or duplicates", "[kafka]") {
  KafkaFixture kafka;
  auto relay = kafka.relay();
  require_all_delivered(*relay, events(1, 5000));  // producer id and metadata in place
  kafka.broker.push_request_errors(0 /* Produce */, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  auto sent = events(30);
  require_all_delivered(*relay, sent);
  auto got = poll_n(*relay, sent.size() + 1);
  std::map<std::string, int> seen;
  for (const auto& e : got) seen[e.request_id]++;
  for (const auto& e : sent) CHECK(seen[e.request_id] == 1);
  std::vector<OrderEvent> extra;
  REQUIRE(relay->poll(100, 1000ms, &extra).is_ok());
  CHECK(extra.empty());  // the idempotent producer wrote no duplicate
}

TEST_CASE("a broker outage fails delivery without loss, and it works again after", "[kafka]") {
  KafkaFixture kafka;
  auto relay = kafka.relay();
  require_all_delivered(*relay, events(1, 7000));
  kafka.broker.set_down(1);
  std::vector<bool> delivered;
  auto during = events(5, 100);
  flashsale::Status status = relay->publish(during, &delivered);
  CHECK_FALSE(status.is_ok());
  for (bool d : delivered) CHECK_FALSE(d);  // never claimed delivered while the broker is down
  kafka.broker.set_up(1);
  // The relay worker retries the same events; they then arrive.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!relay->publish(during, &delivered).is_ok() && std::chrono::steady_clock::now() < deadline) {
  }
  for (bool d : delivered) REQUIRE(d);
  auto got = poll_n(*relay, 1 + during.size() * 2);
  std::set<std::string> ids;
  for (const auto& e : got) ids.insert(e.request_id);
  for (const auto& e : during) CHECK(ids.count(e.request_id) == 1);
}

TEST_CASE("a poison message and a persistently failing event go to the dead-letter topic and replay back", "[kafka]") {
  KafkaFixture kafka;
  const std::string garbage = "this is not an order event";
  {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", kafka.broker.bootstrap().c_str(), errstr, sizeof errstr);
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    REQUIRE(raw != nullptr);
    REQUIRE(rd_kafka_producev(raw, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(const_cast<char*>(garbage.data()), garbage.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    REQUIRE(rd_kafka_flush(raw, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(raw);
  }
  flashsale::Config config = kafka.config();
  config.settings.set("kafka.max.attempts", "3");
  flashsale::test::TestMetrics metrics;
  auto relay = flashsale::PluginHost(config, {&flashsale::test::test_logger(), &metrics}).make_stages().relay;
  auto sent = events(3);
  require_all_delivered(*relay, sent);
  auto got = poll_n(*relay, sent.size());
  REQUIRE(got.size() == sent.size());  // the garbage is not among them

  // The consumer fails on one event for good: the third rejection moves it aside.
  const OrderEvent failing = got[1];
  for (int attempt = 1; attempt <= 3; ++attempt) {
    bool dead = false;
    REQUIRE(relay->reject(failing, "internal: constraint failed", &dead).is_ok());
    CHECK(dead == (attempt == 3));
  }
  REQUIRE(relay->commit().is_ok());
  // The poison message may come after the events (they are on three partitions).
  flashsale::RelayStats stats;
  for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
    REQUIRE(relay->stats(&stats).is_ok());
    if (stats.dead_lettered == 2) break;
    std::vector<OrderEvent> none;
    REQUIRE(relay->poll(10, 200ms, &none).is_ok());
    CHECK(none.empty());
    REQUIRE(relay->commit().is_ok());
  }
  CHECK(stats.dead_lettered == 2);
  CHECK(metrics.value("flashsale_kafka_poison_messages_total", "topic=orders") == 1);
  CHECK(metrics.value("flashsale_kafka_dead_lettered_total", "topic=orders") == 2);

  std::vector<flashsale::DeadLetter> dead;
  REQUIRE(relay->list_dead_letters("", 10, &dead).is_ok());
  REQUIRE(dead.size() == 2);
  std::map<bool, flashsale::DeadLetter> by_decoded;
  for (const auto& letter : dead) by_decoded[letter.decoded] = letter;
  REQUIRE(by_decoded.size() == 2);
  CHECK(by_decoded[false].raw == garbage);
  CHECK(by_decoded[false].reason.rfind("undecodable: ", 0) == 0);
  CHECK(by_decoded[false].deliveries == 1);
  CHECK(by_decoded[true].event.request_id == failing.request_id);
  CHECK(by_decoded[true].reason == "internal: constraint failed");
  CHECK(by_decoded[true].deliveries == 3);
  CHECK(by_decoded[true].dead_ms > 0);
  flashsale::DeadLetter inspected;
  REQUIRE(relay->find_dead_letter(by_decoded[true].id, &inspected).is_ok());
  CHECK(inspected.event.request_id == failing.request_id);
  CHECK(relay->find_dead_letter("0-999999", &inspected).code() == flashsale::Code::not_found);

  // Replayed: the event is polled again; the poison comes back to the dead
  // letters (under a new id); a second replay of one id changes nothing.
  for (const auto& letter : dead) REQUIRE(relay->replay_dead_letter(letter.id).is_ok());
  CHECK(relay->replay_dead_letter(by_decoded[true].id).code() == flashsale::Code::not_found);
  auto back = poll_n(*relay, 1);
  REQUIRE(back.size() == 1);
  CHECK(back[0].request_id == failing.request_id);
  REQUIRE(relay->commit().is_ok());
  REQUIRE(relay->stats(&stats).is_ok());
  CHECK(stats.replayed == 2);
  std::vector<flashsale::DeadLetter> left;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    left.clear();
    REQUIRE(relay->list_dead_letters("", 10, &left).is_ok());
    if (!left.empty()) break;
    std::vector<OrderEvent> none;
    REQUIRE(relay->poll(10, 200ms, &none).is_ok());  // reads the replayed poison again
    REQUIRE(relay->commit().is_ok());
  }
  REQUIRE(left.size() == 1);
  CHECK_FALSE(left[0].decoded);
  CHECK(left[0].id != by_decoded[false].id);

  // Nothing comes back to a new member of the group.
  relay.reset();
  auto next = kafka.relay();
  std::vector<OrderEvent> again;
  REQUIRE(next->poll(10, 3000ms, &again).is_ok());
  CHECK(again.empty());
}

TEST_CASE("a fatal idempotent-producer error is survived by a fresh producer", "[kafka]") {
  KafkaFixture kafka;
  auto relay = kafka.relay();
  require_all_delivered(*relay, events(1, 9000));
  // An out-of-order sequence number is fatal for an idempotent producer.
  kafka.broker.push_request_errors(0 /* Produce */, 1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  auto hit = events(3, 9100);
  std::vector<bool> delivered;
  relay->publish(hit, &delivered);  // may fail: the outbox would keep these entries
  // The relay does not wedge: the same events go through on retry.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  flashsale::Status status;
  do {
    status = relay->publish(hit, &delivered);
  } while (!status.is_ok() && std::chrono::steady_clock::now() < deadline);
  INFO(status.message());
  REQUIRE(status.is_ok());
  auto fresh = events(2, 9200);
  require_all_delivered(*relay, fresh);
  // A new producer session may write a batch the old one half-wrote again
  // (at-least-once; persist's unique keys absorb it): wait for every id.
  std::set<std::string> expected, ids;
  for (const auto& e : hit) expected.insert(e.request_id);
  for (const auto& e : fresh) expected.insert(e.request_id);
  auto deadline_poll = std::chrono::steady_clock::now() + 30s;
  while (!std::includes(ids.begin(), ids.end(), expected.begin(), expected.end()) &&
         std::chrono::steady_clock::now() < deadline_poll) {
    std::vector<OrderEvent> got;
    REQUIRE(relay->poll(100, 200ms, &got).is_ok());
    for (const auto& e : got) ids.insert(e.request_id);
  }
  for (const auto& id : expected) CHECK(ids.count(id) == 1);
}

TEST_CASE("a dead-letter listing past kafka.dlq.list.max or kafka.dlq.list.timeout.ms answers unavailable naming it",
          "[kafka]") {
  KafkaFixture kafka(1);
  constexpr int kDead = 2000;
  {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", kafka.broker.bootstrap().c_str(), errstr, sizeof errstr);
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    REQUIRE(raw != nullptr);
    const std::string value = "a message moved aside";
    for (int i = 0; i < kDead; ++i) {
      REQUIRE(rd_kafka_producev(raw, RD_KAFKA_V_TOPIC("orders.dlq"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    REQUIRE(rd_kafka_flush(raw, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(raw);
  }
  auto relay_with = [&](const char* key, const char* value) {
    flashsale::Config config = kafka.config();
    config.settings.set(key, value);
    return flashsale::PluginHost(config).make_stages().relay;
  };
  std::vector<flashsale::DeadLetter> letters;

  auto all = relay_with("kafka.dlq.list.max", std::to_string(kDead).c_str());
  REQUIRE(all->list_dead_letters("", 5, &letters).is_ok());
  CHECK(letters.size() == 5);

  letters.clear();
  flashsale::Status over =
      relay_with("kafka.dlq.list.max", std::to_string(kDead - 1).c_str())->list_dead_letters("", 5, &letters);
  CHECK(over.code() == flashsale::Code::unavailable);
  CHECK(over.message().find("kafka.dlq.list.max") != std::string::npos);
  CHECK(letters.empty());

  // 1 ms cannot read 2,000 messages.
  flashsale::Status slow = relay_with("kafka.dlq.list.timeout.ms", "1")->list_dead_letters("", 5, &letters);
  CHECK(slow.code() == flashsale::Code::unavailable);
  CHECK(slow.message().find("kafka.dlq.list.timeout.ms") != std::string::npos);
  CHECK(letters.empty());
}
