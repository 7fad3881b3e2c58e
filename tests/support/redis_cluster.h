// A real local Redis Cluster for tests: `masters` redis-server nodes (each
// with `replicas_per_master` replicas) started with --cluster-enabled on free
// loopback ports, each in its own temp dir, joined by
// `redis-cli --cluster create`, and ready once every node reports the same
// slot map with all 16384 slots served. Nodes can be killed, restarted,
// failed over, and a slot migrated step by step, so a test can stop with
// MOVED or ASK in flight. Every node is killed and its dir removed on
// destruction, pass or fail.
//
// Nodes are named by index (0 .. size()-1) for the cluster's lifetime; which
// of them are masters changes with failovers, so roles are always asked of
// the live cluster.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/redis_command.h"

namespace flashsale::test {

class RedisServer;

inline constexpr int kClusterSlots = 16384;

struct RedisClusterOptions {
  int masters = 3;
  int replicas_per_master = 0;
  bool appendonly = false;
  // Short, so that a killed master is failed over in a few seconds.
  int node_timeout_ms = 1000;
};

class RedisCluster {
 public:
  // Throws std::runtime_error (with the reason) when the cluster does not form.
  explicit RedisCluster(RedisClusterOptions options = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  std::size_t size() const { return nodes_.size(); }
  int port(std::size_t node) const;
  bool running(std::size_t node) const;
  // "127.0.0.1:p1,127.0.0.1:p2,...": every node, for a client's seed list.
  std::string seeds() const;

  // Live nodes by their current role, as the cluster's map says.
  std::vector<std::size_t> masters() const;
  std::vector<std::size_t> replicas() const;
  std::vector<std::size_t> replicas_of(std::size_t master) const;
  std::vector<int> master_ports() const;
  std::vector<int> replica_ports() const;
  std::size_t master_for_slot(int slot) const;

  // One command on one node; a Redis error (MOVED, ASK, ...) is a reply.
  RedisReply command(std::size_t node, const std::vector<std::string>& args, int timeout_ms = 5000) const;
  // Several on one connection, e.g. {SET ...}, {WAIT 1 5000}: WAIT counts
  // the replicas that have this connection's writes.
  std::vector<RedisReply> commands(std::size_t node, const std::vector<std::vector<std::string>>& commands,
                                   int timeout_ms = 5000) const;

  // SIGKILL: a crash, nothing saved beyond the AOF.
  void kill_node(std::size_t node);
  // On the same port and dir (so with its nodes.conf); waits until the
  // cluster is consistent again.
  void restart_node(std::size_t node, int timeout_ms = 30000);
  // After kill_node(master): waits until one of its replicas serves its
  // slots and the cluster is consistent on every live node; returns it.
  std::size_t wait_for_failover(std::size_t killed_master, int timeout_ms = 30000);
  // CLUSTER FAILOVER on a replica; waits until it is master and the cluster
  // is consistent.
  void manual_failover(std::size_t replica, int timeout_ms = 30000);

  // A slot migration in its three steps, as redis-cli --cluster reshard does.
  void begin_migration(int slot, std::size_t from, std::size_t to);  // IMPORTING on to, MIGRATING on from
  // Moves up to max_keys of the slot's keys; returns how many it moved.
  std::size_t migrate_keys(int slot, std::size_t from, std::size_t to, std::size_t max_keys);
  // SETSLOT NODE on every live master; waits until the cluster agrees.
  void finish_migration(int slot, std::size_t to, int timeout_ms = 30000);

  // Every live node: cluster_state:ok, knows every node, none of them
  // failing; all give the same slot map, every slot served by a live node;
  // every replica's link to its master up.
  void wait_until_consistent(int timeout_ms = 30000) const;

 private:
  struct Node;
  bool consistent(std::string* why) const;
  std::size_t node_by_id(const std::string& id) const;
  std::size_t any_live_node() const;

  RedisClusterOptions options_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// The hash slot of a key as Redis computes it: CRC16 (XMODEM) of the key,
// or of its hash tag (the text between the first '{' and the next '}', when
// not empty), mod 16384.
int key_slot(std::string_view key);

}  // namespace flashsale::test
