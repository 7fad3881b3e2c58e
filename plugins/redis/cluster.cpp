// The slot function and the Topology of cluster.h.
#include "redis/cluster.h"

#include <algorithm>
#include <charconv>

namespace flashsale::redis {

namespace {

// How often the map is refreshed without being asked, and the least time
// between two refreshes (a burst of MOVED replies costs one).
constexpr std::chrono::seconds kRefreshEvery{5};
constexpr std::chrono::milliseconds kRefreshGap{100};

// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> table{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}
constexpr std::array<std::uint16_t, 256> kCrcTable = make_crc_table();

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

bool parse_int(std::string_view text, std::int64_t* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::uint16_t key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) & (kSlotCount - 1));
}

bool parse_node_address(std::string_view text, NodeAddress* out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::int64_t port = 0;
  // A cluster node may announce host:port@cluster-bus-port.
  std::string_view port_text = text.substr(colon + 1);
  port_text = port_text.substr(0, port_text.find('@'));
  if (!parse_int(port_text, &port) || port < 1 || port > 65535) return false;
  out->host = std::string(text.substr(0, colon));
  out->port = static_cast<int>(port);
  return true;
}

bool parse_redirect(const Status& status, Redirect* out) {
  if (status.is_ok()) return false;
  // Messages read "<endpoint name>: MOVED <slot> <host>:<port>".
  const std::string& message = status.message();
  for (std::string_view kind : {": MOVED ", ": ASK "}) {
    auto at = message.find(kind);
    if (at == std::string::npos) continue;
    std::string_view rest = std::string_view(message).substr(at + kind.size());
    auto space = rest.find(' ');
    std::int64_t slot = 0;
    if (space == std::string_view::npos || !parse_int(rest.substr(0, space), &slot) || slot < 0 ||
        slot >= static_cast<std::int64_t>(kSlotCount) || !parse_node_address(rest.substr(space + 1), &out->to)) {
      return false;
    }
    out->ask = kind == ": ASK ";
    out->slot = static_cast<std::uint16_t>(slot);
    return true;
  }
  return false;
}

Topology::Topology(const Endpoint& base) : base_(base), cluster_(false), nodes_(new std::atomic<const Endpoint*>[kMaxNodes]) {
  for (auto& slot : slots_) slot.store(0, std::memory_order_relaxed);
  owned_.push_back(std::make_unique<Endpoint>(base));
  nodes_[0].store(owned_.back().get(), std::memory_order_release);
  node_count_.store(1, std::memory_order_release);
}

Topology::Topology(const Endpoint& base, std::vector<NodeAddress> seeds)
    : base_(base), cluster_(true), seeds_(std::move(seeds)), nodes_(new std::atomic<const Endpoint*>[kMaxNodes]) {
  for (auto& slot : slots_) slot.store(kNoNode, std::memory_order_relaxed);
  for (const NodeAddress& seed : seeds_) node_at(seed);
}

Topology::~Topology() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (refresher_.joinable()) refresher_.join();
}

int Topology::node_at(const NodeAddress& address) {
  std::lock_guard lock(nodes_mutex_);
  std::size_t count = node_count_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < count; ++i) {
    const Endpoint& known = *nodes_[i].load(std::memory_order_relaxed);
    if (known.port == address.port && known.host == address.host) return static_cast<int>(i);
  }
  if (count == kMaxNodes) return kNoNode;
  auto endpoint = std::make_unique<Endpoint>(base_);
  endpoint->host = address.host;
  endpoint->port = address.port;
  endpoint->name = "redis node " + address.text();
  owned_.push_back(std::move(endpoint));
  nodes_[count].store(owned_.back().get(), std::memory_order_release);
  node_count_.store(count + 1, std::memory_order_release);
  return static_cast<int>(count);
}

std::vector<int> Topology::masters() const {
  std::vector<bool> serves(node_count(), false);
  for (const auto& slot : slots_) {
    int node = slot.load(std::memory_order_acquire);
    if (node >= 0 && static_cast<std::size_t>(node) < serves.size()) serves[static_cast<std::size_t>(node)] = true;
  }
  std::vector<int> found;
  for (std::size_t i = 0; i < serves.size(); ++i) {
    if (serves[i]) found.push_back(static_cast<int>(i));
  }
  return found;
}

void Topology::moved(std::uint16_t slot, const NodeAddress& to) {
  int node = node_at(to);
  if (node != kNoNode) slots_[slot].store(node, std::memory_order_release);
  request_refresh();
}

Status Topology::refresh() {
  if (!cluster_) return Status::ok();
  std::lock_guard lock(refresh_mutex_);
  Status last(Code::unavailable, "redis.addr (REDIS_ADDR): no cluster node is known");
  // The seeds first: they are what the operator named; then whatever the
  // cluster told us, so a map survives the loss of every seed.
  std::vector<const Endpoint*> candidates;
  for (const NodeAddress& seed : seeds_) {
    int node = node_at(seed);
    if (node != kNoNode) candidates.push_back(&endpoint(node));
  }
  for (std::size_t i = 0; i < node_count(); ++i) {
    const Endpoint* known = &endpoint(static_cast<int>(i));
    if (std::find(candidates.begin(), candidates.end(), known) == candidates.end()) candidates.push_back(known);
  }
  for (const Endpoint* candidate : candidates) {
    if (stopping_) break;  // shutting down: each dead node would cost a connect timeout
    last = refresh_from(*candidate);
    if (last.is_ok()) return last;
  }
  return last;
}

Status Topology::refresh_from(const Endpoint& endpoint) {
  Status error;
  std::unique_ptr<Connection> connection = Connection::open(endpoint, &error);
  if (!connection) return error;
  Reply reply;
  Status status = connection->command({"CLUSTER", "SLOTS"}, &reply);
  if (!status.is_ok()) return status;
  if (reply->type != REDIS_REPLY_ARRAY) return unexpected_reply(endpoint.name + ": CLUSTER SLOTS");
  std::vector<int> next(kSlotCount, kNoNode);
  for (std::size_t r = 0; r < reply->elements; ++r) {
    const redisReply* range = reply->element[r];
    std::int64_t first = 0, last = 0, port = 0;
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 || !reply_int(range->element[0], &first) ||
        !reply_int(range->element[1], &last) || first < 0 || last >= static_cast<std::int64_t>(kSlotCount) ||
        first > last) {
      return unexpected_reply(endpoint.name + ": CLUSTER SLOTS");
    }
    const redisReply* master = range->element[2];
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 || !reply_int(master->element[1], &port)) {
      return unexpected_reply(endpoint.name + ": CLUSTER SLOTS");
    }
    // An empty or unknown host is "the node you asked".
    std::string host = reply_text(master->element[0]);
    if (host.empty() || host == "?") host = endpoint.host;
    int node = node_at(NodeAddress{host, static_cast<int>(port)});
    for (std::int64_t slot = first; slot <= last; ++slot) next[static_cast<std::size_t>(slot)] = node;
  }
  for (std::size_t slot = 0; slot < kSlotCount; ++slot) slots_[slot].store(next[slot], std::memory_order_release);
  return Status::ok();
}

void Topology::request_refresh() {
  if (!cluster_) return;
  {
    std::lock_guard lock(wake_mutex_);
    refresh_wanted_ = true;
  }
  wake_.notify_one();
}

void Topology::start_refresher() {
  if (!cluster_ || refresher_.joinable()) return;
  refresher_ = std::thread([this] { run_refresher(); });
}

void Topology::run_refresher() {
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kRefreshEvery, [&] { return stopping_.load() || refresh_wanted_; });
    if (stopping_) break;
    refresh_wanted_ = false;
    lock.unlock();
    refresh();  // a failure leaves the map as it was; the next request retries
    lock.lock();
    // Requests that came during the refresh wait out the gap, so a storm of
    // MOVED replies costs one refresh per gap.
    wake_.wait_for(lock, kRefreshGap, [&] { return stopping_.load(); });
  }
}

}  // namespace flashsale::redis
