// Where a key lives: the Redis Cluster slot of a key (CRC16 of its hash tag,
// as Redis computes it) and the Topology, the map from slot to node that the
// pipeline and the pools route by.
//
// On one Redis (redis.cluster = false) the topology has one node holding
// every slot and never refreshes. On a cluster it starts from the seed nodes
// of redis.addr, learns the slot map with CLUSTER SLOTS, learns a single slot
// from a MOVED reply at once, and refreshes the whole map on a background
// thread whenever asked (a MOVED, a node that cannot be reached) and every
// few seconds, so a failover is picked up even by an idle process. Slot
// lookups are lock-free: the buy path reads the map on every command.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "redis/connection.h"

namespace flashsale::redis {

inline constexpr std::size_t kSlotCount = 16384;

// The slot of `key`: CRC16 of the part between the first '{' and the next
// '}' when that part is not empty, of the whole key otherwise.
std::uint16_t key_slot(std::string_view key);

struct NodeAddress {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
  bool operator==(const NodeAddress& other) const { return port == other.port && host == other.host; }
};

// host:port; false when it is not one.
bool parse_node_address(std::string_view text, NodeAddress* out);

// A MOVED or ASK error reply: "MOVED 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;  // ASK: this one command, preceded by ASKING; MOVED: the slot's new owner
  std::uint16_t slot = 0;
  NodeAddress to;
};
// True when `status` carries a MOVED or ASK error.
bool parse_redirect(const Status& status, Redirect* out);

class Topology {
 public:
  // The node index of a slot nobody serves (the cluster lost it).
  static constexpr int kNoNode = -1;
  // More nodes than any cluster this serves; indexes are never reused.
  static constexpr std::size_t kMaxNodes = 512;

  // One Redis: `base` (with its host and port) holds every slot.
  explicit Topology(const Endpoint& base);
  // A cluster reached first through `seeds`; every node is connected to with
  // base's db, timeouts and name prefix. Nothing is known until refresh().
  Topology(const Endpoint& base, std::vector<NodeAddress> seeds);
  ~Topology();  // stops the refresher
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  bool cluster() const { return cluster_; }

  // The node serving the slot of `route` (a key), or kNoNode.
  int node_for(std::string_view route) const {
    return cluster_ ? slots_[key_slot(route)].load(std::memory_order_acquire) : 0;
  }
  int node_for_slot(std::uint16_t slot) const { return cluster_ ? slots_[slot].load(std::memory_order_acquire) : 0; }
  // The node at `address`, added when new (kNoNode once kMaxNodes are known).
  int node_at(const NodeAddress& address);
  // How to connect to node `node` (< node_count()).
  const Endpoint& endpoint(int node) const { return *nodes_[static_cast<std::size_t>(node)].load(std::memory_order_acquire); }
  std::size_t node_count() const { return node_count_.load(std::memory_order_acquire); }
  // The nodes that serve at least one slot, by the map as it is now.
  std::vector<int> masters() const;

  // Reads the whole map (CLUSTER SLOTS) from the first node that answers:
  // the seeds, then every node known. Not ok: no node answered usefully.
  // A no-op on one Redis.
  Status refresh();
  // A MOVED reply: `slot` is now on `to`. Learned at once; a full refresh
  // follows in the background.
  void moved(std::uint16_t slot, const NodeAddress& to);
  // Asks the background thread for a refresh (a node failed, a MOVED came):
  // at most one per kRefreshGap, never blocking the caller.
  void request_refresh();

  // Starts the background refresher (cluster only); refresh() first.
  void start_refresher();

 private:
  void run_refresher();
  Status refresh_from(const Endpoint& endpoint);

  const Endpoint base_;
  const bool cluster_;
  const std::vector<NodeAddress> seeds_;

  std::array<std::atomic<int>, kSlotCount> slots_;
  std::unique_ptr<std::atomic<const Endpoint*>[]> nodes_;
  std::atomic<std::size_t> node_count_{0};
  std::mutex nodes_mutex_;  // node_at's writers
  std::vector<std::unique_ptr<Endpoint>> owned_;

  std::mutex refresh_mutex_;  // one refresh at a time
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool refresh_wanted_ = false;
  std::atomic<bool> stopping_{false};  // also read by refresh(), to give up early
  std::thread refresher_;
};

}  // namespace flashsale::redis
