// The stock shards of stock_shards.h.
#include "redis/stock_shards.h"

#include <algorithm>
#include <mutex>

#include "redis/keys.h"
#include "redis/redis_stages.h"

namespace flashsale::redis {

namespace {

// A transfer older than this is no longer its process's to finish: its
// process is gone or stuck past every command timeout it could be in.
std::int64_t lease_ms_for(const Options& options) {
  return std::max<std::int64_t>(5000, 3 * options.endpoint.command_timeout.count());
}

// splitmix64: neighbouring user ids land on unrelated shards.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::string ShardLayout::tag(int shard) const {
  if (count == 1) return keys::product_tag(product);
  return keys::product_tag(product) + ":s:" + std::to_string(shard);
}

int ShardLayout::home(UserId user) const {
  return count == 1 ? 0 : static_cast<int>(mix(static_cast<std::uint64_t>(user)) % static_cast<std::uint64_t>(count));
}

std::vector<std::int64_t> split_stock(std::int64_t total, int count) {
  std::vector<std::int64_t> parts(static_cast<std::size_t>(count), total / count);
  for (std::int64_t i = 0; i < total % count; ++i) ++parts[static_cast<std::size_t>(i)];
  return parts;
}

StockShards::StockShards(RedisContext& context) : context_(context), lease_ms_(lease_ms_for(context.options)) {}

Status StockShards::layout(ProductId product, ShardLayout* out, bool fresh) {
  out->product = product;
  if (!fresh) {
    std::shared_lock lock(mutex_);
    auto found = counts_.find(product);
    if (found != counts_.end()) {
      out->count = found->second;
      return Status::ok();
    }
  }
  Reply reply;
  Status status = context_.command({"GET", keys::shard_count(product)}, &reply);
  if (!status.is_ok()) return status;
  std::int64_t count = 1;
  if (reply->type != REDIS_REPLY_NIL && (!reply_int(reply.get(), &count) || count < 1 || count > kMaxStockShards)) {
    return unexpected_reply("stock shards of product " + std::to_string(product));
  }
  out->count = static_cast<int>(count);
  remember(product, out->count);
  return Status::ok();
}

void StockShards::remember(ProductId product, int count) {
  std::lock_guard lock(mutex_);
  counts_[product] = count;
}

Status StockShards::probe(const ShardLayout& layout, const std::vector<int>& shards, std::vector<Probe>* out) {
  std::vector<ScriptCall> calls;
  for (int shard : shards) {
    std::string tag = layout.tag(shard);
    calls.push_back({Script::stock_probe, {keys::sale_in(tag), keys::transfers(tag)}, {std::to_string(lease_ms_)}});
  }
  std::vector<Status> statuses;
  std::vector<Reply> replies;
  context_.run_all(calls, &statuses, &replies);
  out->assign(shards.size(), Probe());
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (!statuses[i].is_ok()) return statuses[i];
    const redisReply* reply = replies[i].get();
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 || (reply->elements - 3) % 3 != 0) {
      return unexpected_reply("stock_probe");
    }
    Probe& probe = (*out)[i];
    if ((reply->element[0]->type != REDIS_REPLY_NIL && !reply_int(reply->element[0], &probe.remaining)) ||
        !reply_int(reply->element[1], &probe.moves) || !reply_int(reply->element[2], &probe.in_flight)) {
      return unexpected_reply("stock_probe");
    }
    for (std::size_t e = 3; e + 2 < reply->elements; e += 3) {
      Probe::Left left;
      std::int64_t to = 0;
      left.transfer_id = reply_text(reply->element[e]);
      if (!reply_int(reply->element[e + 1], &to) || !reply_int(reply->element[e + 2], &left.count) || to < 0 ||
          to >= layout.count) {
        return unexpected_reply("stock_probe");
      }
      left.to = static_cast<int>(to);
      probe.left_behind.push_back(std::move(left));
    }
  }
  return Status::ok();
}

Status StockShards::finish(const ShardLayout& layout, int from, const Probe::Left& transfer, bool* added) {
  std::string to_tag = layout.tag(transfer.to);
  Reply reply;
  Status status = context_.run(Script::stock_transfer_in,
                               {keys::sale_in(to_tag), keys::transferred_in(to_tag, transfer.transfer_id)},
                               {std::to_string(transfer.count)}, &reply);
  if (!status.is_ok()) return status;
  std::int64_t result = 0;
  if (!reply_int(reply.get(), &result)) return unexpected_reply("stock_transfer_in");
  *added = result == 1;
  // -1: the target holds no stock (expired); the record stays, and expires
  // with the source shard's stock.
  if (result < 0) return Status::ok();
  return context_.command({"HDEL", keys::transfers(layout.tag(from)), transfer.transfer_id}, &reply);
}

Status StockShards::finish_left_behind(const ShardLayout& layout, const std::vector<int>& shards,
                                       const std::vector<Probe>& probes, int home, std::int64_t* into_home) {
  *into_home = 0;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (const Probe::Left& left : probes[i].left_behind) {
      bool added = false;
      Status status = finish(layout, shards[i], left, &added);
      if (!status.is_ok()) return status;
      if (added && left.to == home) *into_home += left.count;
    }
  }
  return Status::ok();
}

Status StockShards::refill(const ShardLayout& layout, int home, std::int64_t need, const std::string& transfer_id,
                           std::int64_t* moved, bool* sold_out) {
  *moved = 0;
  // Home too: another buyer may have refilled it since this one's admit.
  std::vector<int> shards;
  for (int shard = 0; shard < layout.count; ++shard) shards.push_back(shard);
  std::vector<Probe> probes;
  Status status = probe(layout, shards, &probes);
  if (!status.is_ok()) return status;
  status = finish_left_behind(layout, shards, probes, home, moved);
  if (!status.is_ok()) return status;
  *sold_out = false;
  bool in_flight = std::any_of(probes.begin(), probes.end(), [](const Probe& p) { return p.in_flight > 0; });
  std::int64_t at_home = std::max<std::int64_t>(0, probes[static_cast<std::size_t>(home)].remaining);
  if (at_home >= need) {
    *moved += at_home;  // enough there already: no transfer
    return Status::ok();
  }
  bool others_empty = true;
  for (int shard = 0; shard < layout.count; ++shard) {
    if (shard != home && probes[static_cast<std::size_t>(shard)].remaining > 0) others_empty = false;
  }
  if (others_empty && *moved == 0 && !in_flight) {
    // The probes ran one shard after another, so a transfer could have
    // passed between them unseen: units read on no shard. A second round that
    // sees every shard's transfer count unchanged proves there was an
    // instant between the rounds when every shard held what was read.
    std::vector<Probe> again;
    status = probe(layout, shards, &again);
    if (!status.is_ok()) return status;
    *sold_out = true;
    for (std::size_t i = 0; i < again.size(); ++i) {
      bool short_now = static_cast<int>(i) == home ? again[i].remaining < need : again[i].remaining <= 0;
      if (!short_now || again[i].moves != probes[i].moves || again[i].in_flight > 0 ||
          !again[i].left_behind.empty()) {
        *sold_out = false;  // something moved or came back: look again
      }
    }
    return Status::ok();
  }
  std::vector<int> others;
  std::vector<Probe> other_probes;
  for (int shard = 0; shard < layout.count; ++shard) {
    if (shard == home) continue;
    others.push_back(shard);
    other_probes.push_back(probes[static_cast<std::size_t>(shard)]);
  }
  probes = std::move(other_probes);

  std::vector<std::size_t> order(others.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return probes[a].remaining > probes[b].remaining; });
  std::string home_tag = layout.tag(home);
  for (std::size_t i : order) {
    if (*moved + at_home >= need || probes[i].remaining <= 0) break;
    int from = others[i];
    std::string from_tag = layout.tag(from);
    Probe::Left transfer{transfer_id + ":" + std::to_string(from), home, 0};
    Reply reply;
    status = context_.run(Script::stock_transfer_out, {keys::sale_in(from_tag), keys::transfers(from_tag)},
                          {transfer.transfer_id, std::to_string(home), std::to_string(need - at_home - *moved)},
                          &reply);
    if (!status.is_ok()) return status;
    if (!reply_int(reply.get(), &transfer.count)) return unexpected_reply("stock_transfer_out");
    if (transfer.count <= 0) continue;  // emptied since the probe
    bool added = false;
    // A failure here leaves the record on `from`: the next probe after the
    // lease finishes it.
    status = finish(layout, from, transfer, &added);
    if (!status.is_ok()) return status;
    if (added) *moved += transfer.count;
  }
  return Status::ok();
}

Status StockShards::levels(const ShardLayout& layout, std::vector<std::int64_t>* remaining) {
  std::vector<int> all;
  for (int shard = 0; shard < layout.count; ++shard) all.push_back(shard);
  std::vector<Probe> probes;
  Status status = probe(layout, all, &probes);
  if (!status.is_ok()) return status;
  bool left_behind = std::any_of(probes.begin(), probes.end(), [](const Probe& p) { return !p.left_behind.empty(); });
  if (left_behind) {
    std::int64_t ignored = 0;
    status = finish_left_behind(layout, all, probes, -1, &ignored);
    if (!status.is_ok()) return status;
    status = probe(layout, all, &probes);
    if (!status.is_ok()) return status;
  }
  remaining->clear();
  for (const Probe& probe : probes) remaining->push_back(probe.remaining);
  return Status::ok();
}

}  // namespace flashsale::redis
