// Stage 3 of the redis family: the outbox on Redis Streams read through a
// consumer group (order.event.stream / .group / .consumer).
//
// On one Redis there is one stream, order.event.stream, and entry ids are its
// stream ids. On a cluster every product has its own stream,
// <order.event.stream>{p:<product>}, in the product's slot so that admit.lua
// can append to it; the admission registers it in
// <order.event.stream>:live_streams (and creates its group) when the
// product's stock is loaded, and this reader rereads that sorted set every
// second, so new streams are found without a restart. Its score is when the
// sale expires: once that has passed and the stream is spent (no sale hash,
// nothing unread, pending or dead-lettered), a reader deletes the stream and
// drops it from the registry (prune()), so the registry, and the work of a
// read, of stats() and of the dead-letter listing, follow the live products,
// not every product there ever was.
// Entry and dead-letter ids are then "<tag>.<stream id>" (p:42.1700000000000-0:
// one path segment, as the admin routes take a dead letter's id).
//
// An entry carries the events of one admit.lua call (stream_entry.h): when
// there are several, each is handed out as "<entry id>#<index>" and the entry
// is acknowledged once each of them was (BatchAcks below). Dead-lettering
// splits such an entry into one dead letter per event.
//
// read(): first lua/outbox_claim.lua takes over entries pending longer than
// outbox.claim.idle.ms (XAUTOCLAIM; a crashed relay's entries come back) and
// moves those delivered more than outbox.max.deliveries times to the
// dead-letter stream <stream>:dead; then XREADGROUP ">" fetches new entries.
// The claim scan of a stream runs at most every half claim time (and at least
// once a second), unless its previous scan stopped part-way: an entry becomes
// claimable only after a whole claim time, so scanning on every read would
// only cost Redis time at full load. An entry that does not decode is
// dead-lettered too (lua/outbox_dead_letter.lua): counted, never dropped.
//
// On a cluster a read asks each stream on its own (Redis refuses a command
// over keys of several slots), pipelined per node: every stream that had
// entries lately, then the others in turn, at most kQuietStreamsPerRead of
// those per read, so a read's work is bounded however many products there
// are. When none had anything, the read blocks on the stream that had entries
// last; an entry of another product then waits at most the read's wait.
//
// ack(): lua/outbox_ack.lua per stream, XACK of the ids, then the stream is
// trimmed below the group's oldest pending entry: never by length, so no
// unrelayed entry can be cut off.
// Dead letters are the entries of <stream>:dead (ids are its stream ids, in
// time order per stream): their own fields behind origin_id, reason and
// deliveries. lua/outbox_replay.lua puts one back as a new stream entry and
// counts it in <stream>:dead:replayed, which every process shares.
//
// A group is created (from id 0, MKSTREAM) when its stream is first used, and
// again when Redis lost it (NOGROUP after a restart without persistence).
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "redis/keys.h"
#include "redis/redis_stages.h"
#include "redis/stream_entry.h"

namespace flashsale::redis {

namespace {

using Clock = std::chrono::steady_clock;

// How often a cluster reader rereads the registry of streams.
constexpr std::chrono::seconds kRegistryEvery{1};
// A stream that had entries within this long is asked on every read.
constexpr std::chrono::seconds kActiveFor{5};
// Quiet streams asked per read, in turn.
constexpr std::size_t kQuietStreamsPerRead = 32;
// Registry members read per ZSCAN call.
constexpr const char* kRegistryPage = "1000";
// How often a cluster reader retires expired streams, and at most how many
// per pass.
constexpr std::chrono::seconds kPruneEvery{60};
constexpr std::size_t kRetirePerPass = 32;

bool valid_stream_id(std::string_view id) {
  auto dash = id.find('-');
  if (dash == 0 || dash == std::string::npos || dash + 1 == id.size()) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i != dash && (id[i] < '0' || id[i] > '9')) return false;
  }
  return id.size() <= 41;
}

// A hash tag this family writes: lower-case letters, digits and ':'.
bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 40) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':'; });
}

// One outbox stream and what the reader keeps about it.
struct Stream {
  Stream(std::string tag_, std::string name_)
      : tag(std::move(tag_)),
        name(std::move(name_)),
        dead(keys::dead_letters(name)),
        replays(keys::dead_letter_replays(name)) {}

  const std::string tag;  // empty on one Redis
  const std::string name;
  const std::string dead;
  const std::string replays;

  std::mutex mutex;                // the fields below
  std::string cursor = "0-0";      // where the next XAUTOCLAIM scan starts
  Clock::time_point last_claim;    // of the last scan started; epoch = never
  Clock::time_point last_entries;  // when a read last found entries; epoch = never

  // The id an entry of this stream has outside the stage.
  std::string outer_id(const std::string& id) const { return tag.empty() ? id : tag + "." + id; }
};

// Which events of the entries of several events (admission batches) this
// process handed out were acknowledged: an entry is acknowledged in Redis
// once each of its events was at least once, however often it was handed
// out. Forgetting an entry is always safe (it is then handed out again after
// the claim time, and its events relayed twice, which the persist stage's
// unique request_id makes harmless), so the record is bounded by clearing it
// when full.
class BatchAcks {
 public:
  // An entry of `events` events (2 to kMaxEventsPerEntry) was handed out.
  void delivered(const std::string& entry, std::size_t events) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.try_emplace(entry, Acks{events, 0});
  }

  // The entry id to acknowledge in Redis for `id`: itself, unless it is an
  // event of an entry of several ("<entry>#<index>"); then the entry's once
  // each of its events was acknowledged, "" before that (or when unknown).
  std::string acked(const std::string& id) {
    auto hash = id.rfind('#');
    if (hash == std::string::npos) return id;
    std::string entry = id.substr(0, hash);
    std::size_t index = 0;
    auto [end, error] = std::from_chars(id.data() + hash + 1, id.data() + id.size(), index);
    if (error != std::errc() || end != id.data() + id.size()) return {};
    std::lock_guard lock(mutex_);
    auto found = entries_.find(entry);
    if (found == entries_.end() || index >= found->second.events) return {};
    found->second.mask |= std::uint64_t{1} << index;
    if (found->second.mask != all(found->second.events)) return {};
    entries_.erase(found);
    return entry;
  }

 private:
  static_assert(kMaxEventsPerEntry <= 64, "one bit per event");
  static constexpr std::size_t kMaxEntries = 1 << 16;

  struct Acks {
    std::size_t events;
    std::uint64_t mask;  // bit i: event i acknowledged
  };

  static std::uint64_t all(std::size_t events) {
    return events == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << events) - 1;
  }

  std::mutex mutex_;
  std::unordered_map<std::string, Acks> entries_;
};

class RedisOutbox final : public Outbox {
 public:
  explicit RedisOutbox(std::shared_ptr<RedisContext> context) : context_(std::move(context)) {
    const Options& options = context_->options;
    if (!context_->cluster()) streams_.push_back(std::make_shared<Stream>("", options.stream));
    registry_ = keys::stream_registry(options.stream);
    retired_replays_ = keys::retired_replays(options.stream);
  }

  // On one Redis, the stream's group; on a cluster, the registry's first
  // read (the groups come with the streams).
  Status start() {
    if (!context_->cluster()) return create_group(*streams_.front());
    Status adopted = adopt_set_registry();
    if (!adopted.is_ok()) return adopted;
    return refresh_registry(true);
  }

  // An entry may carry several events, so what Redis hands out can exceed
  // `max`: the rest waits here (still pending in Redis, so a crash loses
  // none) and goes out first on the next read, which then asks Redis for
  // nothing. It holds fewer than kMaxEventsPerEntry events.
  Status read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) noexcept override {
    return guarded("redis outbox read", [&] {
      if (max == 0) return Status::ok();
      std::size_t before = out->size();
      {
        std::lock_guard lock(overflow_mutex_);
        while (!overflow_.empty() && out->size() - before < max) {
          out->push_back(std::move(overflow_.front()));
          overflow_.pop_front();
        }
      }
      if (out->size() > before) return Status::ok();
      Status status = read_entries(max, wait, out);
      if (out->size() - before > max) {
        std::lock_guard lock(overflow_mutex_);
        for (auto it = out->begin() + static_cast<std::ptrdiff_t>(before + max); it != out->end(); ++it) {
          overflow_.push_back(std::move(*it));
        }
        out->resize(before + max);
      }
      return status;
    });
  }

  Status ack(const std::vector<std::string>& ids) noexcept override {
    return guarded("redis outbox ack", [&] {
      constexpr std::size_t kChunk = 512;  // stays well below Lua's unpack/argument limits
      std::map<std::string, std::vector<std::string>> by_stream;
      for (const std::string& id : ids) {
        std::string entry = batches_.acked(id);  // "" while events of its entry are still out
        std::string stream, raw;
        if (!entry.empty() && split_id(entry, &stream, &raw))
          by_stream[stream].push_back(raw);  // else unknown: ignored
      }
      for (const auto& [stream, raw_ids] : by_stream) {
        std::vector<std::string> args{context_->options.group};
        for (std::size_t i = 0; i < raw_ids.size(); ++i) {
          args.push_back(raw_ids[i]);
          if (args.size() > kChunk || i + 1 == raw_ids.size()) {
            Reply reply;
            Status status = context_->run_pooled(Script::outbox_ack, {stream}, args, &reply);
            if (!status.is_ok()) return status;
            args.resize(1);
          }
        }
      }
      return Status::ok();
    });
  }

  Status stats(OutboxStats* stats) noexcept override {
    return guarded("redis outbox stats", [&] {
      if (context_->cluster()) {
        Status refreshed = refresh_registry(false);
        if (!refreshed.is_ok()) return refreshed;
      }
      OutboxStats found;
      for (const auto& stream : all_streams()) {
        Status status = add_stats(*stream, &found);
        if (!status.is_ok()) return status;
      }
      if (context_->cluster()) {
        Reply reply;
        Status status = context_->command_pooled({"GET", retired_replays_}, &reply);
        if (!status.is_ok()) return status;
        std::int64_t count = 0;
        if (reply->type != REDIS_REPLY_NIL && !reply_int(reply.get(), &count)) return unexpected_reply("GET");
        found.replayed += static_cast<std::uint64_t>(count);
      }
      *stats = found;
      return Status::ok();
    });
  }

  Status list_dead_letters(const std::string& after, std::size_t limit,
                           std::vector<DeadLetter>* out) noexcept override {
    return guarded("redis outbox dead letters", [&] {
      if (limit == 0 || limit > kMaxDeadLetterPage) {
        return Status(Code::invalid_argument, "limit must be 1 to " + std::to_string(kMaxDeadLetterPage));
      }
      std::string after_stream, after_raw;
      if (!after.empty() && !split_id(after, &after_stream, &after_raw)) {
        return Status(Code::invalid_argument, "not a dead letter id: " + after);
      }
      if (context_->cluster()) {
        Status refreshed = refresh_registry(false);
        if (!refreshed.is_ok()) return refreshed;
      }
      // Pages run stream by stream in name order, each in time order.
      std::vector<std::shared_ptr<Stream>> streams = all_streams();
      std::sort(streams.begin(), streams.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
      std::size_t before = out->size();
      for (const auto& stream : streams) {
        if (!after_stream.empty() && stream->name < after_stream) continue;
        std::string from = stream->name == after_stream ? "(" + after_raw : "-";
        Status status = dead_range(*stream, from, "+", limit - (out->size() - before), out);
        if (!status.is_ok()) return status;
        if (out->size() - before >= limit) break;
      }
      return Status::ok();
    });
  }

  Status find_dead_letter(const std::string& id, DeadLetter* out) noexcept override {
    return guarded("redis outbox dead letter", [&] {
      std::vector<DeadLetter> found;
      std::string stream, raw;
      if (split_id(id, &stream, &raw)) {
        Status status = dead_range(*stream_named(stream), raw, raw, 1, &found);
        if (!status.is_ok()) return status;
      }
      if (found.empty()) return Status(Code::not_found, "no dead letter " + id);
      *out = std::move(found[0]);
      return Status::ok();
    });
  }

  Status replay_dead_letter(const std::string& id) noexcept override {
    return guarded("redis outbox replay", [&] {
      std::string name, raw;
      if (!split_id(id, &name, &raw)) return Status(Code::not_found, "no dead letter " + id);
      std::shared_ptr<Stream> stream = stream_named(name);
      Reply reply;
      Status status =
          context_->run_pooled(Script::outbox_replay, {stream->name, stream->dead, stream->replays}, {raw}, &reply);
      if (!status.is_ok()) return status;
      if (reply->type == REDIS_REPLY_NIL) return Status(Code::not_found, "no dead letter " + id);
      return Status::ok();
    });
  }

 private:
  // read() without the overflow: what Redis hands out, maybe more than max.
  Status read_entries(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) {
    if (context_->cluster()) {
      Status refreshed = refresh_registry(false);
      if (!refreshed.is_ok()) return refreshed;
    }
    std::vector<std::shared_ptr<Stream>> streams = all_streams();
    std::vector<Stream*> visit = to_visit(streams);
    std::size_t before = out->size();
    // On a cluster a stream whose node is down does not stop the others;
    // its error is the read's only when nothing was read.
    Status first_error;
    for (Stream* stream : visit) {
      if (out->size() - before >= max) break;
      if (!claim_due(*stream)) continue;
      Status claimed = with_group(*stream, [&] { return claim(*stream, max - (out->size() - before), out); });
      if (!claimed.is_ok() && !context_->cluster()) return claimed;
      if (!claimed.is_ok() && first_error.is_ok()) first_error = claimed;
    }
    std::size_t taken = out->size() - before;
    if (taken >= max) return Status::ok();
    if (!context_->cluster()) {
      Stream& stream = *streams.front();
      return with_group(
          stream, [&] { return read_one(stream, max - taken, taken == 0 ? wait : std::chrono::milliseconds(0), out); });
    }
    Status polled = poll_streams(visit, max - taken, out);
    if (polled.is_ok() && out->size() == before) polled = first_error;
    if (!polled.is_ok() || out->size() > before || wait.count() == 0) return polled;
    if (streams.empty()) {
      // No product has stock loaded yet: nothing to block on until the
      // registry's next read.
      std::this_thread::sleep_for(std::min<Clock::duration>(wait, kRegistryEvery));
      return Status::ok();
    }
    Stream& busiest = *latest_active(streams);
    return with_group(busiest, [&] { return read_one(busiest, max - taken, wait, out); });
  }

  Status create_group(const Stream& stream) {
    Reply reply;
    Status status =
        context_->command_pooled({"XGROUP", "CREATE", stream.name, context_->options.group, "0", "MKSTREAM"}, &reply);
    if (is_redis_error(status, "BUSYGROUP")) return Status::ok();
    return status;
  }

  // Runs step(); if Redis lost the stream's group (NOGROUP), recreates it and
  // runs it once more. On a cluster a stream retired since this reader last
  // read the registry (prune()) has no group either: it is left alone, and
  // forgotten at the registry's next read.
  template <typename Step>
  Status with_group(const Stream& stream, Step&& step) {
    Status status = step();
    if (!is_redis_error(status, "NOGROUP")) return status;
    if (context_->cluster() && !registered(stream)) return Status::ok();
    Status created = create_group(stream);
    if (!created.is_ok()) return created;
    return step();
  }

  std::vector<std::shared_ptr<Stream>> all_streams() {
    std::lock_guard lock(streams_mutex_);
    return streams_;
  }

  // "<tag>.<raw>" on a cluster, the raw stream id on one Redis: the stream's
  // name and the raw id. False when `id` is not of that form.
  bool split_id(const std::string& id, std::string* stream, std::string* raw) const {
    if (!context_->cluster()) {
      if (!valid_stream_id(id)) return false;
      *stream = context_->options.stream;
      *raw = id;
      return true;
    }
    auto dot = id.find('.');
    if (dot == std::string::npos) return false;
    std::string_view tag = std::string_view(id).substr(0, dot);
    std::string_view rest = std::string_view(id).substr(dot + 1);
    if (!valid_tag(tag) || !valid_stream_id(rest)) return false;
    *stream = keys::tagged_stream(context_->options.stream, std::string(tag));
    *raw = std::string(rest);
    return true;
  }

  // The stream of that name, known or not (a dead letter's stream may have
  // been read by another process only).
  std::shared_ptr<Stream> stream_named(const std::string& name) {
    std::lock_guard lock(streams_mutex_);
    for (const auto& stream : streams_) {
      if (stream->name == name) return stream;
    }
    std::string tag;
    tag_of(name, &tag);  // split_id made `name` from a valid tag
    return std::make_shared<Stream>(tag, name);
  }

  // The tag of a stream name of this outbox's cluster form, <base>{<tag>};
  // false for any other name.
  bool tag_of(const std::string& name, std::string* tag) const {
    const std::string& base = context_->options.stream;
    if (name.size() <= base.size() + 2 || name.compare(0, base.size(), base) != 0 || name[base.size()] != '{' ||
        name.back() != '}') {
      return false;
    }
    *tag = name.substr(base.size() + 1, name.size() - base.size() - 2);
    return valid_tag(*tag);
  }

  // Rereads the registry (a cluster's sorted set of streams) when it is due,
  // or now, and forgets the streams it no longer lists. The first time, and
  // every kPruneEvery after, it retires expired streams first (prune()).
  Status refresh_registry(bool now) {
    bool prune_due = false;
    {
      std::lock_guard lock(streams_mutex_);
      Clock::time_point at = Clock::now();
      if (!now && last_registry_ != Clock::time_point() && at - last_registry_ < kRegistryEvery) {
        return Status::ok();
      }
      last_registry_ = at;
      prune_due = last_prune_ == Clock::time_point() || at - last_prune_ >= kPruneEvery;
      if (prune_due) last_prune_ = at;
    }
    // Best effort: what a failed pass leaves is retired by a later one, and
    // a reader that cannot prune still reads.
    if (prune_due) prune();
    std::vector<std::string> names;
    std::string cursor = "0";
    do {
      Reply reply;
      Status status = context_->command_pooled({"ZSCAN", registry_, cursor, "COUNT", kRegistryPage}, &reply);
      if (!status.is_ok()) return status;
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        return unexpected_reply("ZSCAN");
      }
      cursor = reply_text(reply->element[0]);
      const redisReply* page = reply->element[1];
      for (std::size_t i = 0; i + 1 < page->elements; i += 2) names.push_back(reply_text(page->element[i]));
    } while (cursor != "0" && !cursor.empty());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());  // ZSCAN may repeat a member
    std::lock_guard lock(streams_mutex_);
    std::unordered_map<std::string, std::shared_ptr<Stream>> known;
    for (auto& stream : streams_) known.emplace(stream->name, std::move(stream));
    streams_.clear();
    for (const std::string& name : names) {
      auto found = known.find(name);
      std::string tag;
      if (found != known.end()) {
        streams_.push_back(std::move(found->second));
      } else if (tag_of(name, &tag)) {
        streams_.push_back(std::make_shared<Stream>(tag, name));
      }
    }
    return Status::ok();
  }

  // Streams registered by an earlier version in the set <base>:streams join
  // the sorted set, scored 0 (due for prune() at once, which keeps those
  // whose sale is still on), so an upgrade mid-sale reads on. The set itself
  // is left for processes of the earlier version still running.
  Status adopt_set_registry() {
    const std::string old_registry = context_->options.stream + ":streams";
    std::string cursor = "0";
    do {
      Reply reply;
      Status status = context_->command_pooled({"SSCAN", old_registry, cursor, "COUNT", kRegistryPage}, &reply);
      if (is_redis_error(status, "WRONGTYPE")) return Status::ok();  // not a registry of ours
      if (!status.is_ok()) return status;
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        return unexpected_reply("SSCAN");
      }
      cursor = reply_text(reply->element[0]);
      std::vector<std::string> zadd{"ZADD", registry_, "NX"};
      for (std::size_t i = 0; i < reply->element[1]->elements; ++i) {
        zadd.push_back("0");
        zadd.push_back(reply_text(reply->element[1]->element[i]));
      }
      if (zadd.size() > 3) {
        status = context_->command_pooled(zadd, &reply);
        if (!status.is_ok()) return status;
      }
    } while (cursor != "0" && !cursor.empty());
    return Status::ok();
  }

  // Retires up to kRetirePerPass registered streams whose sale's expiry has
  // passed: outbox_retire.lua deletes one in its own slot once nothing can
  // be read from or appended to it, then registry_remove.lua drops it from
  // the registry unless a preload registered it again meanwhile. Each pass
  // starts past the streams the last one had to keep (for their dead
  // letters, say), so those do not hold up the others.
  void prune() {
    auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    std::size_t offset = prune_offset_.load(std::memory_order_relaxed);
    Reply reply;
    Status status =
        context_->command_pooled({"ZRANGEBYSCORE", registry_, "-inf", std::to_string(now_ms.count()), "WITHSCORES",
                                  "LIMIT", std::to_string(offset), std::to_string(kRetirePerPass)},
                                 &reply);
    if (!status.is_ok() || reply->type != REDIS_REPLY_ARRAY) return;
    std::size_t candidates = reply->elements / 2, kept = 0;
    for (std::size_t i = 0; i < candidates; ++i) {
      std::string name = reply_text(reply->element[2 * i]);
      std::string score = reply_text(reply->element[2 * i + 1]);
      std::string tag;
      if (!tag_of(name, &tag) || !retire(Stream(tag, name), score)) ++kept;
    }
    prune_offset_.store(candidates < kRetirePerPass ? 0 : offset + kept, std::memory_order_relaxed);
  }

  // One stream of prune(): true when it is gone from the registry.
  bool retire(const Stream& stream, const std::string& score) {
    Reply reply;
    Status status = context_->run_pooled(Script::outbox_retire,
                                         {stream.name, stream.dead, stream.replays, keys::sale_in(stream.tag)},
                                         {context_->options.group}, &reply);
    std::int64_t retired = 0, replays = 0;
    if (!status.is_ok() || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        !reply_int(reply->element[0], &retired) || !reply_int(reply->element[1], &replays) || retired != 1) {
      return false;
    }
    // The stream's replays join the retired streams' total, so the replayed
    // figure (a Prometheus counter) does not go down. Lost if this process
    // dies right here: a one-off dip, never a double count.
    if (replays > 0) context_->command_pooled({"INCRBY", retired_replays_, std::to_string(replays)}, &reply);
    status = context_->run_pooled(Script::registry_remove, {registry_}, {stream.name, score}, &reply);
    std::int64_t removed = 0;
    return status.is_ok() && reply_int(reply.get(), &removed) && removed == 1;
  }

  // On a cluster, whether `stream` is still registered: a reader that still
  // lists a stream another reader retired must not create it again.
  bool registered(const Stream& stream) {
    Reply reply;
    Status status = context_->command_pooled({"ZSCORE", registry_, stream.name}, &reply);
    return !status.is_ok() || reply->type != REDIS_REPLY_NIL;  // unknown: as before, recreate
  }

  // True when a claim scan of `stream` should run now; claims the slot when
  // it is.
  bool claim_due(Stream& stream) {
    const auto interval = std::min<Clock::duration>(std::chrono::milliseconds(context_->options.claim_idle_ms / 2),
                                                    std::chrono::seconds(1));
    std::lock_guard lock(stream.mutex);
    Clock::time_point now = Clock::now();
    if (stream.cursor == "0-0" && stream.last_claim != Clock::time_point() && now - stream.last_claim < interval) {
      return false;
    }
    stream.last_claim = now;
    return true;
  }

  Status claim(Stream& stream, std::size_t max, std::vector<OutboxEntry>* out) {
    const Options& options = context_->options;
    std::string cursor;
    {
      std::lock_guard lock(stream.mutex);
      cursor = stream.cursor;
    }
    Reply reply;
    Status status = context_->run_pooled(Script::outbox_claim, {stream.name, stream.dead},
                                         {options.group, options.consumer, std::to_string(options.claim_idle_ms),
                                          cursor, std::to_string(max), std::to_string(options.max_deliveries)},
                                         &reply);
    if (!status.is_ok()) return status;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[1]->type != REDIS_REPLY_ARRAY) {
      return unexpected_reply("outbox claim");
    }
    {
      std::lock_guard lock(stream.mutex);
      stream.cursor = reply_text(reply->element[0]);  // "0-0" once the scan wrapped
      if (stream.cursor.empty()) stream.cursor = "0-0";
    }
    const redisReply* entries = reply->element[1];
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      std::int64_t deliveries = 0;
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 3 || !reply_int(entry->element[2], &deliveries)) {
        return unexpected_reply("outbox claim");
      }
      Status taken =
          take(stream, reply_text(entry->element[0]), entry->element[1], static_cast<std::uint32_t>(deliveries), out);
      if (!taken.is_ok()) return taken;
    }
    return Status::ok();
  }

  std::vector<std::string> read_argv(const Stream& stream, std::size_t max, std::chrono::milliseconds wait) const {
    const Options& options = context_->options;
    std::vector<std::string> argv{"XREADGROUP", "GROUP", options.group, options.consumer, "COUNT", std::to_string(max)};
    if (wait.count() > 0) {
      argv.push_back("BLOCK");
      argv.push_back(std::to_string(wait.count()));
    }
    argv.insert(argv.end(), {"STREAMS", stream.name, ">"});
    return argv;
  }

  // New entries of one stream, blocking up to `wait` when there are none.
  Status read_one(Stream& stream, std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) {
    std::vector<std::string> argv = read_argv(stream, max, wait);
    Reply reply;
    Status status = context_->pools.with_route(
        stream.name, [&](Connection& connection) { return connection.blocking_command(argv, wait, &reply); });
    if (!status.is_ok()) return status;
    return take_read(stream, reply.get(), out);
  }

  // The streams a read visits: on a cluster every stream that had entries
  // lately, then the next quiet ones in turn, so a read's work is bounded
  // however many products there are, and every stream is visited (claimed,
  // polled) within (streams / kQuietStreamsPerRead) reads.
  std::vector<Stream*> to_visit(const std::vector<std::shared_ptr<Stream>>& streams) {
    std::vector<Stream*> chosen;
    std::vector<Stream*> quiet;
    Clock::time_point now = Clock::now();
    for (const auto& stream : streams) {
      std::lock_guard lock(stream->mutex);
      bool active = stream->last_entries != Clock::time_point() && now - stream->last_entries < kActiveFor;
      (active || !context_->cluster() ? chosen : quiet).push_back(stream.get());
    }
    if (!quiet.empty()) {
      std::size_t turn = quiet_turn_.fetch_add(kQuietStreamsPerRead, std::memory_order_relaxed);
      for (std::size_t i = 0; i < std::min(quiet.size(), kQuietStreamsPerRead); ++i) {
        chosen.push_back(quiet[(turn + i) % quiet.size()]);
      }
    }
    return chosen;
  }

  // Streams without blocking, one XREADGROUP each (Redis refuses one over
  // keys of several slots). A stream that fails (its node is down) does not
  // stop the others; its error is the read's only when nothing was read.
  Status poll_streams(const std::vector<Stream*>& streams, std::size_t max, std::vector<OutboxEntry>* out) {
    std::size_t before = out->size();
    Status first_error;
    for (Stream* stream : streams) {
      std::size_t taken = out->size() - before;
      if (taken >= max) break;
      Status status = with_group(*stream, [&] { return read_one(*stream, max - taken, {}, out); });
      if (!status.is_ok() && first_error.is_ok()) first_error = status;
    }
    return out->size() > before ? Status::ok() : first_error;
  }

  // The stream that found entries last (the first one when none did).
  Stream* latest_active(const std::vector<std::shared_ptr<Stream>>& streams) {
    Stream* latest = streams.front().get();
    Clock::time_point when;
    for (const auto& stream : streams) {
      std::lock_guard lock(stream->mutex);
      if (stream->last_entries > when) {
        when = stream->last_entries;
        latest = stream.get();
      }
    }
    return latest;
  }

  // The entries of an XREADGROUP reply for one stream.
  Status take_read(Stream& stream, const redisReply* reply, std::vector<OutboxEntry>* out) {
    if (reply == nullptr || reply->type == REDIS_REPLY_NIL) return Status::ok();  // nothing new
    // [[stream, [[id, [field, value, ...]], ...]]]
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 || reply->element[0]->type != REDIS_REPLY_ARRAY ||
        reply->element[0]->elements != 2 || reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
      return unexpected_reply("XREADGROUP");
    }
    const redisReply* entries = reply->element[0]->element[1];
    if (entries->elements > 0) {
      std::lock_guard lock(stream.mutex);
      stream.last_entries = Clock::now();
    }
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return unexpected_reply("XREADGROUP");
      Status taken = take(stream, reply_text(entry->element[0]), entry->element[1], 1, out);
      if (!taken.is_ok()) return taken;
    }
    return Status::ok();
  }

  // Appends a decoded entry's events to *out, or moves an undecodable entry
  // aside. The events of an entry of several (an admission batch) get the
  // entry's id with "#<index>" behind it, and the entry is acknowledged once
  // each of them was.
  Status take(const Stream& stream, const std::string& id, const redisReply* fields, std::uint32_t deliveries,
              std::vector<OutboxEntry>* out) {
    std::vector<OrderEvent> events;
    std::string why;
    if (decode_events(fields, &events, &why)) {
      std::string outer = stream.outer_id(id);
      if (events.size() > 1) batches_.delivered(outer, events.size());
      for (std::size_t i = 0; i < events.size(); ++i) {
        OutboxEntry entry;
        entry.id = events.size() == 1 ? outer : outer + "#" + std::to_string(i);
        entry.event = std::move(events[i]);
        entry.deliveries = deliveries;
        out->push_back(std::move(entry));
      }
      return Status::ok();
    }
    Reply reply;
    return context_->run_pooled(Script::outbox_dead_letter, {stream.name, stream.dead},
                                {context_->options.group, id, "undecodable: " + why, std::to_string(deliveries)},
                                &reply);
  }

  // Adds one stream's figures: its group's pending count and lag from XINFO
  // GROUPS, its dead letters and replays. Redis cannot tell the lag after
  // entries were deleted from the middle of the stream (a dead letter is):
  // then it is the stream's length less the pending entries, which
  // over-counts by the acked entries not yet trimmed (the next ack trims
  // them).
  Status add_stats(const Stream& stream, OutboxStats* found) {
    Reply reply;
    std::int64_t pending = 0, lag = 0;
    bool lag_known = false, exists = true;
    Status status = context_->command_pooled({"XINFO", "GROUPS", stream.name}, &reply);
    if (is_redis_error(status, "ERR no such key")) {
      exists = false;  // nothing appended yet
    } else if (!status.is_ok()) {
      return status;
    } else {
      if (reply->type != REDIS_REPLY_ARRAY) return unexpected_reply("XINFO GROUPS");
      for (std::size_t g = 0; g < reply->elements; ++g) {
        const redisReply* group = reply->element[g];
        if (group->type != REDIS_REPLY_ARRAY || group->elements % 2 != 0) return unexpected_reply("XINFO GROUPS");
        std::string name;
        std::int64_t group_pending = 0, group_lag = 0;
        bool has_lag = false;
        for (std::size_t f = 0; f + 1 < group->elements; f += 2) {
          if (group->element[f]->type != REDIS_REPLY_STRING) continue;
          std::string_view field(group->element[f]->str, group->element[f]->len);
          const redisReply* value = group->element[f + 1];
          if (field == "name" && value->type == REDIS_REPLY_STRING) name.assign(value->str, value->len);
          if (field == "pending") reply_int(value, &group_pending);
          if (field == "lag") has_lag = reply_int(value, &group_lag);
        }
        if (name != context_->options.group) continue;
        pending = group_pending;
        lag = group_lag;
        lag_known = has_lag;
      }
    }
    if (exists && !lag_known) {
      std::int64_t length = 0;
      status = context_->command_pooled({"XLEN", stream.name}, &reply);
      if (!status.is_ok()) return status;
      if (!reply_int(reply.get(), &length)) return unexpected_reply("XLEN");
      lag = std::max<std::int64_t>(0, length - pending);
    }
    found->pending += static_cast<std::uint64_t>(pending);
    found->undelivered += static_cast<std::uint64_t>(lag);
    std::int64_t count = 0;
    status = context_->command_pooled({"XLEN", stream.dead}, &reply);
    if (!status.is_ok()) return status;
    if (!reply_int(reply.get(), &count)) return unexpected_reply("XLEN");
    found->dead_lettered += static_cast<std::uint64_t>(count);
    status = context_->command_pooled({"GET", stream.replays}, &reply);
    if (!status.is_ok()) return status;
    count = 0;
    if (reply->type != REDIS_REPLY_NIL && !reply_int(reply.get(), &count)) return unexpected_reply("GET");
    found->replayed += static_cast<std::uint64_t>(count);
    return Status::ok();
  }

  // XRANGE of a dead-letter stream, decoded.
  Status dead_range(const Stream& stream, const std::string& from, const std::string& to, std::size_t count,
                    std::vector<DeadLetter>* out) {
    Reply reply;
    Status status = context_->command_pooled({"XRANGE", stream.dead, from, to, "COUNT", std::to_string(count)}, &reply);
    if (!status.is_ok()) return status;
    if (reply->type != REDIS_REPLY_ARRAY) return unexpected_reply("XRANGE");
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* entry = reply->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) {
        return unexpected_reply("XRANGE");
      }
      out->push_back(dead_letter(stream, reply_text(entry->element[0]), entry->element[1]));
    }
    return Status::ok();
  }

  // A dead-letter stream entry: its own fields, then the entry as it was.
  static DeadLetter dead_letter(const Stream& stream, const std::string& id, const redisReply* fields) {
    DeadLetter letter;
    letter.id = stream.outer_id(id);
    letter.dead_ms = std::strtoll(id.c_str(), nullptr, 10);  // a stream id starts with its time, ms
    std::string raw;
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
      std::string name = reply_text(fields->element[i]);
      std::string value = reply_text(fields->element[i + 1]);
      if (name == "reason") {
        letter.reason = value;
      } else if (name == "deliveries") {
        letter.deliveries = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
      } else if (name != "origin_id") {
        raw += (raw.empty() ? "" : " ") + name + "=" + value;
      }
    }
    std::string why;
    letter.decoded = decode_event(fields, &letter.event, &why);  // tolerates the dead letter's own fields
    if (!letter.decoded) letter.raw = std::move(raw);
    return letter;
  }

  std::shared_ptr<RedisContext> context_;
  BatchAcks batches_;
  std::mutex overflow_mutex_;
  std::deque<OutboxEntry> overflow_;  // handed out by Redis, not yet by read()
  std::string registry_;
  std::string retired_replays_;  // on a cluster: the replays of retired streams
  std::mutex streams_mutex_;
  std::vector<std::shared_ptr<Stream>> streams_;  // one on one Redis; the registry's on a cluster
  Clock::time_point last_registry_;               // under streams_mutex_
  Clock::time_point last_prune_;                  // under streams_mutex_
  std::atomic<std::size_t> prune_offset_{0};      // where prune()'s next pass starts among the expired
  std::atomic<std::size_t> quiet_turn_{0};        // where the next read's quiet streams start
};

}  // namespace

Outbox* new_outbox(std::shared_ptr<RedisContext> context, Status* error) {
  auto outbox = std::make_unique<RedisOutbox>(std::move(context));
  *error = outbox->start();
  return error->is_ok() ? outbox.release() : nullptr;
}

}  // namespace flashsale::redis
