// Stage 3 of the redis family: the outbox on a Redis Stream read through a
// consumer group (order.event.stream / .group / .consumer).
//
// read(): first lua/outbox_claim.lua takes over entries pending longer than
// outbox.claim.idle.ms (XAUTOCLAIM; a crashed relay's entries come back) and
// moves those delivered more than outbox.max.deliveries times to the
// dead-letter stream <stream>:dead; then XREADGROUP ">" fetches new entries,
// blocking only when the claim found nothing. The claim scan runs at most
// every half claim time (and at least once a second), unless the previous scan
// stopped part-way: an entry becomes claimable only after a whole claim time,
// so scanning on every read would only cost Redis time at full load.
// An entry that does not decode is dead-lettered too
// (lua/outbox_dead_letter.lua): counted, never dropped.
// ack(): lua/outbox_ack.lua, XACK of the ids, then the stream is trimmed
// below the group's oldest pending entry: never by length, so no unrelayed
// entry can be cut off.
// Dead letters are the entries of <stream>:dead (ids are its stream ids, in
// time order): their own fields behind origin_id, reason and deliveries.
// lua/outbox_replay.lua puts one back as a new stream entry and counts it in
// <stream>:dead:replayed, which every process shares.
//
// The group is created (from id 0, MKSTREAM) when the stage is made, and again
// when Redis lost it (NOGROUP after a restart without persistence).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "redis/keys.h"
#include "redis/redis_stages.h"
#include "redis/stream_entry.h"

namespace flashsale::redis {

namespace {

bool valid_stream_id(const std::string& id) {
  auto dash = id.find('-');
  if (dash == 0 || dash == std::string::npos || dash + 1 == id.size()) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i != dash && (id[i] < '0' || id[i] > '9')) return false;
  }
  return id.size() <= 41;
}

class RedisOutbox final : public Outbox {
 public:
  explicit RedisOutbox(std::shared_ptr<RedisContext> context)
      : context_(std::move(context)),
        stream_(context_->options.stream),
        dead_(keys::dead_letters(stream_)),
        replays_(keys::dead_letter_replays(stream_)) {}

  Status create_group() {
    const Options& options = context_->options;
    Reply reply;
    Status status = context_->command_pooled({"XGROUP", "CREATE", stream_, options.group, "0", "MKSTREAM"}, &reply);
    if (is_redis_error(status, "BUSYGROUP")) return Status::ok();
    return status;
  }

  Status read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) noexcept override {
    return guarded("redis outbox read", [&] {
      if (max == 0) return Status::ok();
      std::size_t before = out->size();
      if (claim_due()) {
        Status claimed = with_group([&] { return claim(max, out); });
        if (!claimed.is_ok()) return claimed;
      }
      std::size_t taken = out->size() - before;
      if (taken >= max) return Status::ok();
      return with_group([&] { return read_new(max - taken, taken == 0 ? wait : std::chrono::milliseconds(0), out); });
    });
  }

  Status ack(const std::vector<std::string>& ids) noexcept override {
    return guarded("redis outbox ack", [&] {
      constexpr std::size_t kChunk = 512;  // stays well below Lua's unpack/argument limits
      std::vector<std::string> args{context_->options.group};
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (valid_stream_id(ids[i])) args.push_back(ids[i]);  // anything else is unknown: ignored
        if (args.size() > kChunk || (i + 1 == ids.size() && args.size() > 1)) {
          Reply reply;
          Status status = context_->run_pooled(Script::outbox_ack, {stream_}, args, &reply);
          if (!status.is_ok()) return status;
          args.resize(1);
        }
      }
      return Status::ok();
    });
  }

  Status stats(OutboxStats* stats) noexcept override {
    return guarded("redis outbox stats", [&] {
      OutboxStats found;
      Status status = group_backlog(&found);
      if (!status.is_ok()) return status;
      Reply reply;
      std::int64_t count = 0;
      status = context_->command_pooled({"XLEN", dead_}, &reply);
      if (!status.is_ok()) return status;
      if (!reply_int(reply.get(), &count)) return unexpected_reply("XLEN");
      found.dead_lettered = static_cast<std::uint64_t>(count);
      status = context_->command_pooled({"GET", replays_}, &reply);
      if (!status.is_ok()) return status;
      count = 0;
      if (reply->type != REDIS_REPLY_NIL && !reply_int(reply.get(), &count)) return unexpected_reply("GET");
      found.replayed = static_cast<std::uint64_t>(count);
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
      if (!after.empty() && !valid_stream_id(after)) {
        return Status(Code::invalid_argument, "not a dead letter id: " + after);
      }
      return dead_range(after.empty() ? "-" : "(" + after, "+", limit, out);
    });
  }

  Status find_dead_letter(const std::string& id, DeadLetter* out) noexcept override {
    return guarded("redis outbox dead letter", [&] {
      std::vector<DeadLetter> found;
      if (valid_stream_id(id)) {
        Status status = dead_range(id, id, 1, &found);
        if (!status.is_ok()) return status;
      }
      if (found.empty()) return Status(Code::not_found, "no dead letter " + id);
      *out = std::move(found[0]);
      return Status::ok();
    });
  }

  Status replay_dead_letter(const std::string& id) noexcept override {
    return guarded("redis outbox replay", [&] {
      if (!valid_stream_id(id)) return Status(Code::not_found, "no dead letter " + id);
      Reply reply;
      Status status = context_->run_pooled(Script::outbox_replay, {stream_, dead_, replays_}, {id}, &reply);
      if (!status.is_ok()) return status;
      if (reply->type == REDIS_REPLY_NIL) return Status(Code::not_found, "no dead letter " + id);
      return Status::ok();
    });
  }

 private:
  // The group's pending count and lag from XINFO GROUPS. Redis cannot tell
  // the lag after entries were deleted from the middle of the stream (a
  // dead letter is): then it is the stream's length less the pending
  // entries, which over-counts by the acked entries not yet trimmed (the
  // next ack trims them).
  Status group_backlog(OutboxStats* found) {
    Reply reply;
    Status status = context_->command_pooled({"XINFO", "GROUPS", stream_}, &reply);
    if (is_redis_error(status, "ERR no such key")) return Status::ok();  // nothing appended yet
    if (!status.is_ok()) return status;
    if (reply->type != REDIS_REPLY_ARRAY) return unexpected_reply("XINFO GROUPS");
    bool lag_known = false;
    for (std::size_t g = 0; g < reply->elements; ++g) {
      const redisReply* group = reply->element[g];
      if (group->type != REDIS_REPLY_ARRAY || group->elements % 2 != 0) return unexpected_reply("XINFO GROUPS");
      std::string name;
      std::int64_t pending = 0, lag = 0;
      bool has_lag = false;
      for (std::size_t f = 0; f + 1 < group->elements; f += 2) {
        if (group->element[f]->type != REDIS_REPLY_STRING) continue;
        std::string_view field(group->element[f]->str, group->element[f]->len);
        const redisReply* value = group->element[f + 1];
        if (field == "name" && value->type == REDIS_REPLY_STRING) name.assign(value->str, value->len);
        if (field == "pending") reply_int(value, &pending);
        if (field == "lag") has_lag = reply_int(value, &lag);
      }
      if (name != context_->options.group) continue;
      found->pending = static_cast<std::uint64_t>(pending);
      found->undelivered = static_cast<std::uint64_t>(lag);
      lag_known = has_lag;
    }
    if (lag_known) return Status::ok();
    std::int64_t length = 0;
    status = context_->command_pooled({"XLEN", stream_}, &reply);
    if (!status.is_ok()) return status;
    if (!reply_int(reply.get(), &length)) return unexpected_reply("XLEN");
    found->undelivered = static_cast<std::uint64_t>(std::max<std::int64_t>(0, length - static_cast<std::int64_t>(found->pending)));
    return Status::ok();
  }

  // Runs step(); if Redis lost the group (NOGROUP), recreates it and runs it
  // once more.
  template <typename Step>
  Status with_group(Step&& step) {
    Status status = step();
    if (!is_redis_error(status, "NOGROUP")) return status;
    Status created = create_group();
    if (!created.is_ok()) return created;
    return step();
  }

  // True when a claim scan should run now; claims the slot when it is.
  bool claim_due() {
    using Clock = std::chrono::steady_clock;
    const auto interval =
        std::min<Clock::duration>(std::chrono::milliseconds(context_->options.claim_idle_ms / 2), std::chrono::seconds(1));
    std::lock_guard lock(cursor_mutex_);
    Clock::time_point now = Clock::now();
    if (cursor_ == "0-0" && last_claim_ != Clock::time_point() && now - last_claim_ < interval) return false;
    last_claim_ = now;
    return true;
  }

  Status claim(std::size_t max, std::vector<OutboxEntry>* out) {
    const Options& options = context_->options;
    std::string cursor;
    {
      std::lock_guard lock(cursor_mutex_);
      cursor = cursor_;
    }
    Reply reply;
    Status status = context_->run_pooled(Script::outbox_claim, {stream_, dead_},
                                         {options.group, options.consumer, std::to_string(options.claim_idle_ms),
                                          cursor, std::to_string(max), std::to_string(options.max_deliveries)},
                                         &reply);
    if (!status.is_ok()) return status;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[1]->type != REDIS_REPLY_ARRAY) {
      return unexpected_reply("outbox claim");
    }
    {
      std::lock_guard lock(cursor_mutex_);
      cursor_ = reply_text(reply->element[0]);  // "0-0" once the scan wrapped
      if (cursor_.empty()) cursor_ = "0-0";
    }
    const redisReply* entries = reply->element[1];
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      std::int64_t deliveries = 0;
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 3 || !reply_int(entry->element[2], &deliveries)) {
        return unexpected_reply("outbox claim");
      }
      Status taken =
          take(reply_text(entry->element[0]), entry->element[1], static_cast<std::uint32_t>(deliveries), out);
      if (!taken.is_ok()) return taken;
    }
    return Status::ok();
  }

  Status read_new(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) {
    const Options& options = context_->options;
    std::vector<std::string> argv{"XREADGROUP", "GROUP", options.group, options.consumer, "COUNT", std::to_string(max)};
    if (wait.count() > 0) {
      argv.push_back("BLOCK");
      argv.push_back(std::to_string(wait.count()));
    }
    argv.insert(argv.end(), {"STREAMS", stream_, ">"});
    Reply reply;
    Status status = context_->pools.with_route(
        stream_, [&](Connection& connection) { return connection.blocking_command(argv, wait, &reply); });
    if (!status.is_ok()) return status;
    if (reply->type == REDIS_REPLY_NIL) return Status::ok();  // nothing new within `wait`
    // [[stream, [[id, [field, value, ...]], ...]]]
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 || reply->element[0]->type != REDIS_REPLY_ARRAY ||
        reply->element[0]->elements != 2 || reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
      return unexpected_reply("XREADGROUP");
    }
    const redisReply* entries = reply->element[0]->element[1];
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return unexpected_reply("XREADGROUP");
      Status taken = take(reply_text(entry->element[0]), entry->element[1], 1, out);
      if (!taken.is_ok()) return taken;
    }
    return Status::ok();
  }

  // Appends a decoded entry to *out, or moves an undecodable one aside.
  Status take(const std::string& id, const redisReply* fields, std::uint32_t deliveries,
              std::vector<OutboxEntry>* out) {
    OutboxEntry entry;
    std::string why;
    if (decode_event(fields, &entry.event, &why)) {
      entry.id = id;
      entry.deliveries = deliveries;
      out->push_back(std::move(entry));
      return Status::ok();
    }
    Reply reply;
    return context_->run_pooled(Script::outbox_dead_letter, {stream_, dead_},
                                {context_->options.group, id, "undecodable: " + why, std::to_string(deliveries)},
                                &reply);
  }

  // XRANGE of the dead-letter stream, decoded.
  Status dead_range(const std::string& from, const std::string& to, std::size_t count, std::vector<DeadLetter>* out) {
    Reply reply;
    Status status = context_->command_pooled({"XRANGE", dead_, from, to, "COUNT", std::to_string(count)}, &reply);
    if (!status.is_ok()) return status;
    if (reply->type != REDIS_REPLY_ARRAY) return unexpected_reply("XRANGE");
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* entry = reply->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) {
        return unexpected_reply("XRANGE");
      }
      out->push_back(dead_letter(reply_text(entry->element[0]), entry->element[1]));
    }
    return Status::ok();
  }

  // A dead-letter stream entry: its own fields, then the entry as it was.
  static DeadLetter dead_letter(const std::string& id, const redisReply* fields) {
    DeadLetter letter;
    letter.id = id;
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
  const std::string stream_;
  const std::string dead_;
  const std::string replays_;
  std::mutex cursor_mutex_;
  std::string cursor_ = "0-0";  // where the next XAUTOCLAIM scan of the pending list starts
  std::chrono::steady_clock::time_point last_claim_;  // of the last scan started; epoch = never
};

}  // namespace

Outbox* new_outbox(std::shared_ptr<RedisContext> context, Status* error) {
  auto outbox = std::make_unique<RedisOutbox>(std::move(context));
  *error = outbox->create_group();
  return error->is_ok() ? outbox.release() : nullptr;
}

}  // namespace flashsale::redis
