// One product's stock over K hash tags ("stock shards"), so that on a Redis
// Cluster a single hot product is spread over K slots, normally on K masters.
//
// Shard i of product N carries the tag p:N:s:i (K = 1 keeps the product's
// own tag p:N, so an unsharded product's keys are what they always were).
// A buyer's home shard is chosen from the user id; their lock and
// idempotency key live there, so "one order per user" stays a one-slot check
// in admit.lua. When the home shard runs short, stock moves to it from the
// others by a two-step transfer (lua/stock_transfer_out.lua, then
// lua/stock_transfer_in.lua, then the record deleted) that a process dying
// between its steps cannot lose or double: the record it leaves behind is
// finished by the next caller that probes that shard after a lease
// (lua/stock_probe.lua). The protocol and its failure cases are in
// plugins/redis/README.md, "One hot product over several shards".
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale::redis {

struct RedisContext;

struct ShardLayout {
  ProductId product = 0;
  int count = 1;

  std::string tag(int shard) const;  // the hash tag of shard `shard`
  int home(UserId user) const;       // the buyer's home shard
};

// `total` over `count` parts, the first ones one larger: sums to total.
std::vector<std::int64_t> split_stock(std::int64_t total, int count);

class StockShards {
 public:
  explicit StockShards(RedisContext& context);

  // The product's layout: its shard count as its preload recorded it
  // (fs:{p:N}:shards; absent: 1), cached, since a product's count is fixed
  // when it is created. `fresh` rereads it (a not_preloaded answer may mean
  // another process loaded it sharded since).
  Status layout(ProductId product, ShardLayout* out, bool fresh = false);
  void remember(ProductId product, int count);

  // The buyer's home shard `home` lacked `need` units: moves stock into it
  // from the others, largest first, after finishing the transfers a dead
  // process left behind. *moved is what home gained since; *sold_out is
  // true only when home is still short and every other shard was seen empty
  // at one instant with no transfer under way. Neither: stock was moving
  // (others bought it first); try again. `transfer_id` names this attempt
  // (unique).
  Status refill(const ShardLayout& layout, int home, std::int64_t need, const std::string& transfer_id,
                std::int64_t* moved, bool* sold_out);

  // Each shard's remaining (-1: no stock loaded), once the transfers left
  // behind are finished, so the figures add up to the product's stock.
  Status levels(const ShardLayout& layout, std::vector<std::int64_t>* remaining);

 private:
  struct Probe {
    std::int64_t remaining = -1;  // -1: no stock loaded
    std::int64_t moves = 0;       // transfers into and out of it, ever
    std::int64_t in_flight = 0;   // transfers out of it within the lease
    struct Left {
      std::string transfer_id;
      int to = 0;
      std::int64_t count = 0;
    };
    std::vector<Left> left_behind;  // transfers out of this shard older than the lease
  };
  // Probes the given shards in one pipelined round.
  Status probe(const ShardLayout& layout, const std::vector<int>& shards, std::vector<Probe>* out);
  // Adds a transfer's units to shard `to` (once) and deletes its record on
  // shard `from`. *added: the units reached `to` now.
  Status finish(const ShardLayout& layout, int from, const Probe::Left& transfer, bool* added);
  // Finishes what the probes found left behind; *into_home: units that
  // reached `home` (-1: none).
  Status finish_left_behind(const ShardLayout& layout, const std::vector<int>& shards,
                            const std::vector<Probe>& probes, int home, std::int64_t* into_home);

  RedisContext& context_;
  const std::int64_t lease_ms_;
  std::shared_mutex mutex_;  // read on every admission, written once per product
  // One entry per product this process has sold or looked at: bounded by the
  // catalog, since the host admits only products that exist.
  std::unordered_map<ProductId, int> counts_;
};

}  // namespace flashsale::redis
