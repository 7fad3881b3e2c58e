// A map spread over a fixed number of shards, each behind its own mutex, so
// that threads working on different keys rarely contend. The memory rate
// limiter (subjects) and request-state store (request ids) are built on it.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>

namespace flashsale::memory {

template <typename Map, std::size_t kShards>
class ShardedMap {
 public:
  using Key = typename Map::key_type;

  // Runs fn(map) on the shard of `key`, under its lock, and returns its result.
  template <typename Fn>
  decltype(auto) with_shard(const Key& key, Fn&& fn) {
    Shard& shard = shards_[std::hash<Key>{}(key) % kShards];
    std::lock_guard lock(shard.mutex);
    return fn(shard.map);
  }

  // Runs fn(map) on every shard in turn, each under its lock.
  template <typename Fn>
  void for_each_shard(Fn&& fn) {
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      fn(shard.map);
    }
  }

  std::size_t size() const {
    std::size_t count = 0;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      count += shard.map.size();
    }
    return count;
  }

 private:
  struct Shard {
    mutable std::mutex mutex;
    Map map;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace flashsale::memory
