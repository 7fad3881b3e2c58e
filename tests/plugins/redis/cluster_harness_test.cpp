// The Redis Cluster test harness itself (tests/support/redis_cluster.h):
// the cluster it forms, its slot function against Redis's own, a failover
// and a slot migration stopped half-way, as the cluster-mode tests of the
// redis family will use them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_socket.h"
#include "support/redis_cluster.h"

namespace flashsale::test {

namespace {

std::string redirect(const char* kind, int slot, int port) {
  return std::string(kind) + " " + std::to_string(slot) + " 127.0.0.1:" + std::to_string(port);
}

}  // namespace

TEST_CASE("a cluster forms with 3 masters serving every slot", "[cluster]") {
  RedisCluster cluster;
  std::vector<std::size_t> masters = cluster.masters();
  REQUIRE(masters.size() == 3);
  CHECK(cluster.replicas().empty());
  CHECK(cluster.master_ports().size() == 3);
  std::string seeds = cluster.seeds();
  CHECK(std::count(seeds.begin(), seeds.end(), ',') == 2);

  std::set<std::size_t> owners;
  for (int slot = 0; slot < kClusterSlots; slot += 97) owners.insert(cluster.master_for_slot(slot));
  owners.insert(cluster.master_for_slot(kClusterSlots - 1));
  CHECK(owners == std::set<std::size_t>(masters.begin(), masters.end()));

  for (std::size_t node : masters) {
    std::string info = cluster.command(node, {"CLUSTER", "INFO"}).text;
    CHECK(info.find("cluster_state:ok") != std::string::npos);
    CHECK(info.find("cluster_slots_ok:16384") != std::string::npos);
    CHECK(info.find("cluster_size:3") != std::string::npos);
  }

  // A key is served by the master of its slot; any other master redirects.
  int slot = key_slot("{p:42}:stock");
  std::size_t owner = cluster.master_for_slot(slot);
  CHECK(cluster.command(owner, {"SET", "{p:42}:stock", "7"}).text == "OK");
  CHECK(cluster.command(owner, {"GET", "{p:42}:stock"}).text == "7");
  std::size_t other = masters[0] == owner ? masters[1] : masters[0];
  RedisReply moved = cluster.command(other, {"GET", "{p:42}:stock"});
  REQUIRE(moved.is_error());
  CHECK(moved.text == redirect("MOVED", slot, cluster.port(owner)));
}

TEST_CASE("a cluster of fewer than 3 masters is refused before any node starts", "[cluster]") {
  CHECK_THROWS_AS(RedisCluster(RedisClusterOptions{2, 1, false, 1000}), std::invalid_argument);
}

TEST_CASE("key_slot agrees with CLUSTER KEYSLOT", "[cluster]") {
  RedisCluster cluster;
  std::vector<std::string> keys = {"",
                                   "a",
                                   "foo",
                                   "123456789",
                                   "p:42",
                                   "{p:42}",
                                   "{p:42}:stock",
                                   "sale:{p:42}:orders",
                                   "x{p:42}y{z}",
                                   "{}",
                                   "{}p:42",
                                   "p:42{}",
                                   "a{}{b}",
                                   "{{x}}",
                                   "}{a}",
                                   "{a",
                                   "a}",
                                   "{ }",
                                   std::string("\0\xff{k}", 5),
                                   std::string(300, 'k')};
  for (const std::string& key : keys) {
    INFO("key " << key);
    RedisReply answer = cluster.command(0, {"CLUSTER", "KEYSLOT", key});
    REQUIRE(answer.type == RedisReply::Type::integer);
    CHECK(key_slot(key) == std::stoi(answer.text));
  }
  CHECK(key_slot("123456789") == 0x31C3 % kClusterSlots);  // the CRC16-XMODEM check value
  CHECK(key_slot("{p:42}:stock") == key_slot("{p:42}:orders"));
  CHECK(key_slot("{}a") != key_slot("{}b"));  // an empty tag hashes the whole key
}

TEST_CASE("a killed master's replica takes over with the writes WAIT acknowledged", "[cluster][failover]") {
  RedisCluster cluster(RedisClusterOptions{3, 1, false, 1000});
  REQUIRE(cluster.masters().size() == 3);
  REQUIRE(cluster.replicas().size() == 3);
  std::string key = "{p:7}:stock";
  std::size_t master = cluster.master_for_slot(key_slot(key));
  REQUIRE(cluster.replicas_of(master).size() == 1);
  std::vector<RedisReply> written = cluster.commands(master, {{"SET", key, "500"}, {"WAIT", "1", "5000"}});
  REQUIRE(written[0].text == "OK");
  REQUIRE(written[1].text == "1");  // the replica has the SET

  cluster.kill_node(master);
  std::size_t promoted = cluster.wait_for_failover(master);
  CHECK(promoted != master);
  CHECK(cluster.master_for_slot(key_slot(key)) == promoted);
  CHECK(cluster.command(promoted, {"GET", key}).text == "500");
  CHECK(cluster.masters().size() == 3);

  // The old master comes back as a replica of the one that replaced it.
  cluster.restart_node(master);
  CHECK(cluster.replicas_of(promoted) == std::vector<std::size_t>{master});
  CHECK(cluster.command(promoted, {"GET", key}).text == "500");
}

TEST_CASE("a master without replicas takes the cluster down until it is restarted with its AOF", "[cluster]") {
  RedisCluster cluster(RedisClusterOptions{3, 0, true, 1000});
  std::string key = "{p:9}:stock";
  std::size_t master = cluster.master_for_slot(key_slot(key));
  REQUIRE(cluster.command(master, {"SET", key, "40"}).text == "OK");
  std::size_t other = (master + 1) % cluster.size();

  cluster.kill_node(master);
  auto down = [&] {
    return cluster.command(other, {"CLUSTER", "INFO"}).text.find("cluster_state:fail") != std::string::npos;
  };
  long long deadline = steady_now_ms() + 20000;
  while (!down() && steady_now_ms() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(down());
  CHECK(cluster.command(other, {"GET", "{p:1}:any"}).text.rfind("CLUSTERDOWN", 0) == 0);

  cluster.restart_node(master);
  CHECK(cluster.master_for_slot(key_slot(key)) == master);
  CHECK(cluster.command(master, {"GET", key}).text == "40");
}

TEST_CASE("a manual failover makes the replica master and its master a replica", "[cluster][failover]") {
  RedisCluster cluster(RedisClusterOptions{3, 1, false, 1000});
  std::size_t master = cluster.masters().front();
  std::size_t replica = cluster.replicas_of(master).at(0);
  cluster.manual_failover(replica);
  std::vector<std::size_t> masters = cluster.masters();
  CHECK(std::find(masters.begin(), masters.end(), replica) != masters.end());
  CHECK(cluster.replicas_of(replica) == std::vector<std::size_t>{master});
}

TEST_CASE("a slot migrated half-way answers ASK for moved keys and MOVED once finished", "[cluster][migration]") {
  RedisCluster cluster;
  std::vector<std::string> keys = {"{m}:a", "{m}:b"};
  int slot = key_slot(keys[0]);
  std::size_t from = cluster.master_for_slot(slot);
  std::vector<std::size_t> masters = cluster.masters();
  std::size_t to = masters[0] == from ? masters[1] : masters[0];
  for (const std::string& key : keys) REQUIRE(cluster.command(from, {"SET", key, key}).text == "OK");

  cluster.begin_migration(slot, from, to);
  REQUIRE(cluster.migrate_keys(slot, from, to, 1) == 1);
  RedisReply on_target = cluster.command(to, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "10"});
  REQUIRE(on_target.elements.size() == 1);
  std::string moved_key = on_target.elements[0].text;
  std::string kept_key = moved_key == keys[0] ? keys[1] : keys[0];
  RedisReply ask = cluster.command(from, {"GET", moved_key});
  REQUIRE(ask.is_error());
  CHECK(ask.text == redirect("ASK", slot, cluster.port(to)));
  CHECK(cluster.command(from, {"GET", kept_key}).text == kept_key);
  // The target answers for the slot only after ASKING; otherwise it still
  // sends clients to the slot's owner.
  CHECK(cluster.commands(to, {{"ASKING"}, {"GET", moved_key}}).at(1).text == moved_key);
  CHECK(cluster.command(to, {"GET", moved_key}).text == redirect("MOVED", slot, cluster.port(from)));
  CHECK(cluster.master_for_slot(slot) == from);

  CHECK(cluster.migrate_keys(slot, from, to, 10) == 1);
  CHECK(cluster.migrate_keys(slot, from, to, 10) == 0);
  cluster.finish_migration(slot, to);
  CHECK(cluster.master_for_slot(slot) == to);
  for (const std::string& key : keys) {
    RedisReply moved = cluster.command(from, {"GET", key});
    REQUIRE(moved.is_error());
    CHECK(moved.text == redirect("MOVED", slot, cluster.port(to)));
    CHECK(cluster.command(to, {"GET", key}).text == key);
  }
}

}  // namespace flashsale::test
