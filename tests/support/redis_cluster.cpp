// The Redis Cluster of redis_cluster.h: each node is a RedisServer with the
// cluster options; the cluster is read back from CLUSTER NODES / CLUSTER INFO
// / ROLE on the nodes themselves, so the harness holds no model of its own
// that could drift from what a client would see.
#include "support/redis_cluster.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/redis_server.h"
#include "support/server_process.h"

namespace flashsale::test {

struct RedisCluster::Node {
  std::unique_ptr<RedisServer> server;
  std::string id;
  std::vector<std::size_t> replicas_at_kill;  // who may take over once it is killed
};

namespace {

// One line of CLUSTER NODES.
struct NodeLine {
  std::string id;
  std::string flags;
  std::string master_id;                 // "-" for a master
  std::vector<std::string> slot_ranges;  // "a-b" or "a"; migration markers left out

  bool has_flag(std::string_view flag) const {
    std::stringstream in(flags);
    std::string each;
    while (std::getline(in, each, ',')) {
      if (each == flag) return true;
    }
    return false;
  }
  bool is_master() const { return has_flag("master"); }
  bool failing() const { return has_flag("fail") || has_flag("fail?") || has_flag("handshake") || has_flag("noaddr"); }
  bool serves(int slot) const {
    for (const std::string& range : slot_ranges) {
      std::size_t dash = range.find('-');
      int first = std::stoi(range.substr(0, dash));
      int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
      if (slot >= first && slot <= last) return true;
    }
    return false;
  }
};

std::vector<NodeLine> parse_cluster_nodes(const std::string& text) {
  std::vector<NodeLine> lines;
  std::stringstream in(text);
  std::string row;
  while (std::getline(in, row)) {
    std::stringstream fields(row);
    std::vector<std::string> tokens;
    std::string token;
    while (fields >> token) tokens.push_back(token);
    if (tokens.size() < 8) continue;
    NodeLine line{tokens[0], tokens[2], tokens[3], {}};
    for (std::size_t i = 8; i < tokens.size(); ++i) {
      if (tokens[i].front() != '[') line.slot_ranges.push_back(tokens[i]);
    }
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end(), [](const NodeLine& a, const NodeLine& b) { return a.id < b.id; });
  return lines;
}

std::string info_field(const std::string& info, const std::string& name) {
  std::size_t at = info.find(name + ":");
  if (at == std::string::npos) return {};
  std::size_t begin = at + name.size() + 1;
  return info.substr(begin, info.find_first_of("\r\n", begin) - begin);
}

RedisReply checked(RedisReply reply, const std::string& what) {
  if (reply.is_error()) throw std::runtime_error(what + ": " + reply.text);
  return reply;
}

template <typename Predicate>
void wait_for(Predicate ready, int timeout_ms, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string why;
  while (!ready(&why)) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("redis cluster: " + what + " not within " + std::to_string(timeout_ms) + " ms (" + why +
                               ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (char c : bytes) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc =
          (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::vector<std::string> node_args(const RedisClusterOptions& options) {
  return {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
          std::to_string(options.node_timeout_ms),
          // The bus port is chosen, not port+10000, which may be past 65535.
          "--cluster-port", std::to_string(free_loopback_port()),
          // A replica takes over however long it was cut off: tests kill
          // masters on purpose, and want the failover.
          "--cluster-replica-validity-factor", "0",
          // A replica's first sync starts at once, not after 5 s.
          "--repl-diskless-sync-delay", "0"};
}

}  // namespace

int key_slot(std::string_view key) {
  std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kClusterSlots;
}

RedisCluster::RedisCluster(RedisClusterOptions options) : options_(options) {
  if (options_.masters < 3) throw std::invalid_argument("redis cluster: redis-cli needs at least 3 masters");
  int count = options_.masters * (1 + options_.replicas_per_master);
  for (int i = 0; i < count; ++i) {
    auto node = std::make_unique<Node>();
    // Both ports were free a moment ago; another process may take one first.
    for (int attempt = 1; !node->server; ++attempt) {
      try {
        node->server = std::make_unique<RedisServer>(RedisServerOptions{options_.appendonly, node_args(options_)});
      } catch (const std::runtime_error&) {
        if (attempt == 3) throw;
      }
    }
    node->id = checked(redis_command(node->server->port(), {"CLUSTER", "MYID"}), "CLUSTER MYID").text;
    nodes_.push_back(std::move(node));
  }
  std::vector<std::string> create = {"/usr/bin/env", "redis-cli", "--cluster", "create"};
  for (const auto& node : nodes_) create.push_back(node->server->addr());
  create.insert(create.end(), {"--cluster-replicas", std::to_string(options_.replicas_per_master), "--cluster-yes"});
  std::string output;
  if (run_command(create, &output, 60000) != 0) {
    throw std::runtime_error("redis cluster: redis-cli --cluster create failed: " + output);
  }
  wait_until_consistent(60000);
}

RedisCluster::~RedisCluster() = default;

int RedisCluster::port(std::size_t node) const {
  return nodes_.at(node)->server->port();
}

bool RedisCluster::running(std::size_t node) const {
  return nodes_.at(node)->server->running();
}

std::string RedisCluster::seeds() const {
  std::string list;
  for (const auto& node : nodes_) list += (list.empty() ? "" : ",") + node->server->addr();
  return list;
}

RedisReply RedisCluster::command(std::size_t node, const std::vector<std::string>& args, int timeout_ms) const {
  return redis_command(port(node), args, timeout_ms);
}

std::vector<RedisReply> RedisCluster::commands(std::size_t node, const std::vector<std::vector<std::string>>& commands,
                                               int timeout_ms) const {
  return redis_commands(port(node), commands, timeout_ms);
}

std::size_t RedisCluster::node_by_id(const std::string& id) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->id == id) return i;
  }
  throw std::runtime_error("redis cluster: unknown node id " + id);
}

std::size_t RedisCluster::any_live_node() const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (running(i)) return i;
  }
  throw std::runtime_error("redis cluster: no node is running");
}

namespace {
std::vector<NodeLine> cluster_view(const RedisCluster& cluster, std::size_t node) {
  return parse_cluster_nodes(checked(cluster.command(node, {"CLUSTER", "NODES"}), "CLUSTER NODES").text);
}
}  // namespace

std::vector<std::size_t> RedisCluster::masters() const {
  std::vector<std::size_t> found;
  for (const NodeLine& line : cluster_view(*this, any_live_node())) {
    std::size_t node = node_by_id(line.id);
    if (line.is_master() && !line.slot_ranges.empty() && running(node)) found.push_back(node);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::size_t> RedisCluster::replicas() const {
  std::vector<std::size_t> found;
  for (const NodeLine& line : cluster_view(*this, any_live_node())) {
    std::size_t node = node_by_id(line.id);
    if (!line.is_master() && running(node)) found.push_back(node);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::size_t> RedisCluster::replicas_of(std::size_t master) const {
  std::vector<std::size_t> found;
  for (const NodeLine& line : cluster_view(*this, any_live_node())) {
    std::size_t node = node_by_id(line.id);
    if (line.master_id == nodes_.at(master)->id && running(node)) found.push_back(node);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<int> RedisCluster::master_ports() const {
  std::vector<int> ports;
  for (std::size_t node : masters()) ports.push_back(port(node));
  return ports;
}

std::vector<int> RedisCluster::replica_ports() const {
  std::vector<int> ports;
  for (std::size_t node : replicas()) ports.push_back(port(node));
  return ports;
}

std::size_t RedisCluster::master_for_slot(int slot) const {
  for (const NodeLine& line : cluster_view(*this, any_live_node())) {
    if (line.is_master() && line.serves(slot)) return node_by_id(line.id);
  }
  throw std::runtime_error("redis cluster: no master serves slot " + std::to_string(slot));
}

bool RedisCluster::consistent(std::string* why) const {
  try {
    std::vector<NodeLine> first_view;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!running(i)) continue;
      std::string node = "node " + std::to_string(i) + " (port " + std::to_string(port(i)) + ")";
      std::string info = checked(command(i, {"CLUSTER", "INFO"}), "CLUSTER INFO").text;
      for (const auto& [field, want] : {std::pair<std::string, std::string>{"cluster_state", "ok"},
                                        {"cluster_slots_assigned", std::to_string(kClusterSlots)},
                                        {"cluster_slots_ok", std::to_string(kClusterSlots)},
                                        {"cluster_known_nodes", std::to_string(nodes_.size())}}) {
        if (info_field(info, field) != want) {
          *why = node + " says " + field + ":" + info_field(info, field);
          return false;
        }
      }
      std::vector<NodeLine> view = cluster_view(*this, i);
      for (const NodeLine& line : view) {
        std::size_t other = node_by_id(line.id);
        if (running(other) && line.failing()) {
          *why = node + " sees node " + std::to_string(other) + " as " + line.flags;
          return false;
        }
        if (!running(other) && !line.slot_ranges.empty()) {
          *why = node + " has node " + std::to_string(other) + " (not running) serving slots";
          return false;
        }
      }
      if (first_view.empty()) {
        first_view = view;
      } else {
        for (std::size_t l = 0; l < view.size(); ++l) {
          const NodeLine& a = view[l];
          const NodeLine& b = first_view[l];
          if (a.id != b.id || a.is_master() != b.is_master() || a.master_id != b.master_id ||
              a.slot_ranges != b.slot_ranges) {
            *why = node + " disagrees about node " + std::to_string(node_by_id(a.id)) + " (" + a.flags + " " +
                   a.master_id + ")";
            return false;
          }
        }
      }
      RedisReply role = checked(command(i, {"ROLE"}), "ROLE");
      if (role.elements.size() >= 4 && role.elements[0].text == "slave" && role.elements[3].text != "connected") {
        *why = node + " replica link is " + role.elements[3].text;
        return false;
      }
    }
    return true;
  } catch (const std::exception& e) {
    *why = e.what();
    return false;
  }
}

void RedisCluster::wait_until_consistent(int timeout_ms) const {
  wait_for([this](std::string* why) { return consistent(why); }, timeout_ms, "a consistent cluster");
}

void RedisCluster::kill_node(std::size_t node) {
  Node& killed = *nodes_.at(node);
  killed.replicas_at_kill = replicas_of(node);
  killed.server->kill();
}

void RedisCluster::restart_node(std::size_t node, int timeout_ms) {
  nodes_.at(node)->server->start();
  wait_until_consistent(timeout_ms);
}

std::size_t RedisCluster::wait_for_failover(std::size_t killed_master, int timeout_ms) {
  const std::vector<std::size_t>& candidates = nodes_.at(killed_master)->replicas_at_kill;
  if (candidates.empty()) {
    throw std::runtime_error("redis cluster: node " + std::to_string(killed_master) +
                             " had no replica to fail over to");
  }
  std::size_t promoted = 0;
  wait_for(
      [&](std::string* why) {
        if (!consistent(why)) return false;
        std::vector<std::size_t> now = masters();
        for (std::size_t candidate : candidates) {
          if (std::find(now.begin(), now.end(), candidate) != now.end()) {
            promoted = candidate;
            return true;
          }
        }
        *why = "no replica of node " + std::to_string(killed_master) + " is master";
        return false;
      },
      timeout_ms, "the failover of node " + std::to_string(killed_master));
  return promoted;
}

void RedisCluster::manual_failover(std::size_t replica, int timeout_ms) {
  checked(command(replica, {"CLUSTER", "FAILOVER"}), "CLUSTER FAILOVER");
  wait_for(
      [&](std::string* why) {
        if (!consistent(why)) return false;
        RedisReply role = command(replica, {"ROLE"});
        if (role.elements.empty() || role.elements[0].text != "master") {
          *why = "node " + std::to_string(replica) + " is not master yet";
          return false;
        }
        return true;
      },
      timeout_ms, "the manual failover to node " + std::to_string(replica));
}

void RedisCluster::begin_migration(int slot, std::size_t from, std::size_t to) {
  std::string s = std::to_string(slot);
  checked(command(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", nodes_.at(from)->id}), "SETSLOT IMPORTING");
  checked(command(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", nodes_.at(to)->id}), "SETSLOT MIGRATING");
}

std::size_t RedisCluster::migrate_keys(int slot, std::size_t from, std::size_t to, std::size_t max_keys) {
  RedisReply keys = checked(command(from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(max_keys)}),
                            "GETKEYSINSLOT");
  if (keys.elements.empty()) return 0;
  std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0", "5000", "KEYS"};
  for (const RedisReply& key : keys.elements) migrate.push_back(key.text);
  checked(command(from, migrate, 10000), "MIGRATE");
  return keys.elements.size();
}

void RedisCluster::finish_migration(int slot, std::size_t to, int timeout_ms) {
  // The target first: once it owns the slot, clients redirected anywhere end there.
  std::vector<std::string> assign = {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", nodes_.at(to)->id};
  checked(command(to, assign), "SETSLOT NODE on the target");
  for (std::size_t master : masters()) {
    if (master != to) checked(command(master, assign), "SETSLOT NODE on node " + std::to_string(master));
  }
  wait_until_consistent(timeout_ms);
}

}  // namespace flashsale::test
