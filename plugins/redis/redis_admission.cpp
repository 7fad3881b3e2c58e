// Stage 2 of the redis family: lua/admit.lua decides and applies admissions
// in one script call on the stock shard's slot (stock, user lock, idempotency
// key, outbox XADD), each buyer's after validating everything before its
// first write. Buyers of one shard who arrive together share that call
// (admit_batches.h): a script call costs Redis far more than a buyer's share
// of the work in it. With the ratelimit stage also redis, the same call first
// counts each buyer in its rate-limit window (counts_rate_limit): one round
// trip per buy. That window key carries the subject's tag, not the product's,
// so the fused call needs one Redis holding both: on a cluster the host asks
// the ratelimit stage first (two round trips), and the events go to the
// product's own outbox stream. lua/load_stock.lua preloads the stock and
// lua/return_stock.lua gives a cancelled order's quantity back (once per
// order) and frees its buyer, each on the product's slot too.
//
// A request's `pending` state lives under the request's own hash tag (so
// /result finds it by request_id alone), hence outside the script's slot. It
// is written right *after* the script (and its WAIT, with
// redis.wait.replicas) by a native SET NX per accepted buyer (only if no state
// exists yet: the consumer may already have recorded the final state, which
// must win), all at once, before any buyer of the batch is answered. If that
// write fails, the admission stands and is reported accepted; /result answers
// not_found until the final state arrives (the order is not lost).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <string_view>
#include <thread>

#include "flashsale/event_codec.h"
#include "redis/admit_batches.h"
#include "redis/keys.h"
#include "redis/redis_stages.h"
#include "redis/request_states.h"

namespace flashsale::redis {

namespace {

// "<part>,<part>,..." with exactly `count` parts, each a non-negative integer.
bool parse_plan(const std::string& text, int count, std::vector<std::int64_t>* parts) {
  parts->clear();
  std::string_view rest(text);
  for (int shard = 0; shard < count; ++shard) {
    std::size_t comma = rest.find(',');
    if ((comma == std::string_view::npos) != (shard + 1 == count)) return false;
    std::string_view item = rest.substr(0, comma);
    std::int64_t part = 0;
    auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), part);
    if (item.empty() || error != std::errc() || end != item.data() + item.size() || part < 0) return false;
    parts->push_back(part);
    if (comma != std::string_view::npos) rest = rest.substr(comma + 1);
  }
  return true;
}

AdmitResult refused(Code code, std::string message) {
  return AdmitResult{Status(code, std::move(message)), {}, false};
}

// One buyer's outcome in the script's answer (lua/admit.lua).
AdmitResult outcome_of(std::string_view outcome, const std::string& request_id) {
  auto detail = [&](std::string_view prefix, std::string* out) {
    if (outcome.substr(0, prefix.size()) != prefix) return false;
    *out = std::string(outcome.substr(prefix.size()));
    return true;
  };
  std::string text;
  if (outcome == "ok") return AdmitResult{Status::ok(), request_id, false};
  if (detail("replay:", &text)) return AdmitResult{Status::ok(), text, true};
  if (outcome == "idempotency_key_reused") {
    return refused(Code::idempotency_key_reused, "idempotency key was used with a different user or quantity");
  }
  if (outcome == "sale_paused") return refused(Code::sale_paused, "the sale of this product is paused");
  if (outcome == "not_preloaded") return refused(Code::not_preloaded, "product is not preloaded");
  if (outcome == "sale_not_active") return refused(Code::sale_not_active, "sale is not active");
  if (outcome == "already_purchased") {
    return refused(Code::already_purchased, "user already holds an order for this product");
  }
  if (outcome == "sold_out") return refused(Code::sold_out, "sold out");
  if (outcome == "rate_limited") return refused(Code::rate_limited, "too many requests");
  if (detail("wrong_type:", &text))
    return refused(Code::internal, "admit: key " + text + " holds a value of another type");
  return AdmitResult{unexpected_reply("admit"), {}, false};
}

// With redis.wait.replicas, what follows an admit script that accepted or
// replayed anyone, on the I/O thread without waking the leader in between: a
// WAIT on the script's own connection (it counts that connection's writes).
// A replay is confirmed too: its admission may be the one an earlier WAIT
// could not confirm.
class ConfirmAdmissions final : public FollowUp {
 public:
  ConfirmAdmissions(const Options& options, const std::string& route) : options_(options), route_(route) {}

  bool next(const Status& status, const redisReply* reply, std::string* route,
            std::vector<std::string>* argv) noexcept override {
    if (!status.is_ok() || reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return false;
    bool confirm = false;
    for (std::size_t i = 0; i < reply->elements && !confirm; ++i) {
      std::string_view outcome = reply_view(reply->element[i]);
      confirm = outcome == "ok" || outcome.substr(0, 7) == "replay:";
    }
    if (!confirm) return false;
    try {
      *argv = {"WAIT", std::to_string(options_.wait_replicas), std::to_string(options_.wait_timeout_ms)};
      *route = route_;
    } catch (...) {
      return false;  // no memory: unconfirmed, the buyers are answered unavailable
    }
    return true;
  }

  bool then(const Status& status, const redisReply* reply, std::string*, std::vector<std::string>*) noexcept override {
    std::int64_t replicas = 0;
    replicated_ = status.is_ok() && reply_int(reply, &replicas) && replicas >= options_.wait_replicas;
    return false;
  }

  bool same_connection() const noexcept override { return true; }

  // Whether that many replicas had the batch's writes when the WAIT returned.
  bool replicated() const { return replicated_; }

 private:
  const Options& options_;
  const std::string& route_;
  bool replicated_ = false;
};

class RedisAdmission final : public Admission {
 public:
  explicit RedisAdmission(std::shared_ptr<RedisContext> context)
      : context_(std::move(context)),
        batches_(kMaxBatch,
                 [this](const std::string& tag, const std::vector<BatchedBuyer*>& batch) { run_batch(tag, batch); }) {}

  AdmitResult admit(const AdmitRequest& request) noexcept override {
    AdmitResult result;
    result.status = guarded("redis admit", [&] {
      result = admit_unguarded(request);
      return result.status;
    });
    return result;
  }

  // On a cluster the buyer's rate window is in another slot than the
  // product's keys, so the host asks the ratelimit stage first.
  bool counts_rate_limit() const noexcept override { return !context_->cluster(); }

  Status load_stock(const SaleStock& stock) noexcept override {
    return guarded("redis load_stock", [&] {
      if (stock.sellable < 0 || stock.ttl_seconds < 0 || stock.end_ms < stock.start_ms || stock.shards < 1 ||
          stock.shards > kMaxStockShards) {
        return Status(Code::invalid_argument,
                      "stock needs sellable >= 0, ttl_seconds >= 0, start_ms <= end_ms and 1 to " +
                          std::to_string(kMaxStockShards) + " shards");
      }
      ShardLayout layout{stock.product_id, stock.shards};
      std::vector<std::int64_t> parts{stock.sellable};
      if (layout.count > 1) {
        Status planned = plan(stock, &parts);
        if (!planned.is_ok()) return planned;
      }
      for (int shard = 0; shard < layout.count; ++shard) {
        std::string tag = layout.tag(shard);
        if (context_->cluster()) {
          Status registered = register_stream(tag, stock.ttl_seconds);
          if (!registered.is_ok()) return registered;
        }
        Reply reply;
        Status loaded =
            context_->run(Script::load_stock, {keys::sale_in(tag)},
                          {std::to_string(parts[static_cast<std::size_t>(shard)]), std::to_string(stock.start_ms),
                           std::to_string(stock.end_ms), std::to_string(stock.ttl_seconds)},
                          &reply);
        if (!loaded.is_ok()) return loaded;
      }
      return Status::ok();
    });
  }

  Status stock(ProductId product_id, StockLevel* level) noexcept override {
    return guarded("redis stock", [&] {
      ShardLayout layout;
      Status status = context_->stock_shards.layout(product_id, &layout);
      if (!status.is_ok()) return status;
      StockLevel found;
      if (layout.count == 1) {
        Reply reply;
        status = context_->command({"HGET", keys::sale(product_id), "remaining"}, &reply);
        if (!status.is_ok()) return status;
        if (reply->type != REDIS_REPLY_NIL) {
          if (!reply_int(reply.get(), &found.remaining)) return unexpected_reply("stock");
          found.preloaded = true;
        }
      } else {
        std::vector<std::int64_t> shards;
        status = context_->stock_shards.levels(layout, &shards);
        if (!status.is_ok()) return status;
        for (std::int64_t remaining : shards) {
          found.preloaded = found.preloaded || remaining >= 0;
          found.remaining += std::max<std::int64_t>(0, remaining);
          found.shards.push_back(std::max<std::int64_t>(0, remaining));
        }
      }
      Reply reply;
      status = context_->command({"EXISTS", keys::paused(product_id)}, &reply);
      if (!status.is_ok()) return status;
      std::int64_t paused = 0;
      if (!reply_int(reply.get(), &paused)) return unexpected_reply("stock");
      found.paused = paused == 1;
      *level = found;
      return Status::ok();
    });
  }

  // Present without expiry, so neither a preload nor the stock's expiry
  // clears it (admission.h). The product's own flag is the one that counts
  // and is read; a sharded product's shards carry a copy, which admit.lua
  // reads in the shard's slot.
  Status set_paused(ProductId product_id, bool paused) noexcept override {
    return guarded("redis set_paused", [&] {
      ShardLayout layout;
      Status status = context_->stock_shards.layout(product_id, &layout);
      if (!status.is_ok()) return status;
      std::vector<std::string> flags{keys::paused(product_id)};
      if (layout.count > 1) {
        for (int shard = 0; shard < layout.count; ++shard) flags.push_back(keys::paused_in(layout.tag(shard)));
      }
      for (const std::string& flag : flags) {
        Reply reply;
        status = paused ? context_->command({"SET", flag, "1"}, &reply) : context_->command({"DEL", flag}, &reply);
        if (!status.is_ok()) return status;
      }
      return Status::ok();
    });
  }

  // An order's quantity goes back to its buyer's home shard, where the
  // buyer's lock is; a top-up is split over the shards, each part added once
  // per top-up on its own shard.
  Status return_stock(const StockReturn& stock_return) noexcept override {
    return guarded("redis return_stock", [&] {
      if ((stock_return.request_id.empty() && !stock_return.is_top_up()) || stock_return.quantity <= 0) {
        return Status(Code::invalid_argument,
                      "return_stock needs a request_id (or a top_up_id) and a positive quantity");
      }
      ShardLayout layout;
      Status status = context_->stock_shards.layout(stock_return.product_id, &layout);
      if (!status.is_ok()) return status;
      // return_stock.lua answers -1 for a shard without stock: the return
      // stays pending (not_preloaded) and comes again; the shards that took
      // their part have its marker, so they do not take it twice.
      Reply reply;
      std::int64_t outcome = 0;
      auto no_stock = [&] {
        return Status(Code::not_preloaded,
                      "product " + std::to_string(stock_return.product_id) + " has no stock loaded");
      };
      if (!stock_return.is_top_up()) {
        std::string tag = layout.tag(layout.home(stock_return.user_id));
        status = context_->run(Script::return_stock,
                               {keys::sale_in(tag), keys::returned_in(tag, stock_return.order_id),
                                keys::user_lock_in(tag, stock_return.user_id)},
                               {std::to_string(stock_return.quantity), stock_return.request_id}, &reply);
        if (!status.is_ok()) return status;
        if (!reply_int(reply.get(), &outcome)) return unexpected_reply("return_stock");
        return outcome < 0 ? no_stock() : Status::ok();
      }
      std::vector<std::int64_t> parts = split_stock(stock_return.quantity, layout.count);
      bool missing = false;
      for (int shard = 0; shard < layout.count; ++shard) {
        std::int64_t part = parts[static_cast<std::size_t>(shard)];
        if (part == 0) continue;
        std::string tag = layout.tag(shard);
        status =
            context_->run(Script::return_stock, {keys::sale_in(tag), keys::topped_up_in(tag, stock_return.top_up_id)},
                          {std::to_string(part)}, &reply);
        if (!status.is_ok()) return status;
        if (!reply_int(reply.get(), &outcome)) return unexpected_reply("return_stock");
        missing = missing || outcome < 0;
      }
      return missing ? no_stock() : Status::ok();
    });
  }

 private:
  // The outbox stream admit.lua appends a shard's events to.
  std::string stream_of(const std::string& tag) const {
    const std::string& base = context_->options.stream;
    return context_->cluster() ? keys::tagged_stream(base, tag) : base;
  }

  // On a cluster, before a shard's stock is loaded: its outbox stream gets
  // its group and joins the registry the outbox reads (redis_outbox.cpp), so
  // no event is appended to a stream nobody reads. Its score is when the
  // stock will expire (by this process's clock: the reader checks the sale
  // hash itself before it forgets a stream, so a clock behind Redis's only
  // delays that); GT, so a later sale's expiry only raises it.
  Status register_stream(const std::string& tag, std::int64_t ttl_seconds) {
    std::string stream = stream_of(tag);
    Reply reply;
    Status status = context_->command({"XGROUP", "CREATE", stream, context_->options.group, "0", "MKSTREAM"}, &reply);
    if (!status.is_ok() && !is_redis_error(status, "BUSYGROUP")) return status;
    std::string expires = "+inf";
    if (ttl_seconds > 0) {
      auto now =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
      expires = std::to_string(now.count() + ttl_seconds * 1000);
    }
    return context_->command({"ZADD", keys::stream_registry(context_->options.stream), "GT", expires, stream}, &reply);
  }

  // A sharded preload's split, recorded before any shard is loaded and
  // reused by every later preload while it lives (it expires with the
  // stock): a preload interrupted half-way and run again loads the missing
  // shards with their parts of the same split, not of a recount that the
  // loaded shards' sales have already lowered. With no split recorded but
  // some shard still holding stock (its stock outlived the split by the
  // moment between their expiries), the recount cannot say what those hold
  // that it counts too, so the missing shards load empty: units may stay
  // unsold until every shard has expired, none is sold twice. Records the
  // shard count and copies a pause set before the preload onto the shards
  // first.
  Status plan(const SaleStock& stock, std::vector<std::int64_t>* parts) {
    const ProductId product = stock.product_id;
    const ShardLayout layout{product, stock.shards};
    Reply reply;
    Status status = context_->command({"SET", keys::shard_count(product), std::to_string(stock.shards)}, &reply);
    if (!status.is_ok()) return status;
    context_->stock_shards.remember(product, stock.shards);
    status = context_->command({"GET", keys::shard_plan(product)}, &reply);
    if (!status.is_ok()) return status;
    std::string split = reply_text(reply.get());
    if (split.empty()) {
      bool any_loaded = false;
      for (int shard = 0; shard < layout.count && !any_loaded; ++shard) {
        status = context_->command({"EXISTS", keys::sale_in(layout.tag(shard))}, &reply);
        if (!status.is_ok()) return status;
        any_loaded = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
      }
      if (any_loaded) {
        parts->assign(static_cast<std::size_t>(layout.count), 0);
      } else {
        for (std::int64_t part : split_stock(stock.sellable, stock.shards)) {
          split += (split.empty() ? "" : ",") + std::to_string(part);
        }
        // Two preloads at once: the first split recorded is the one both use.
        std::vector<std::string> set{"SET", keys::shard_plan(product), split, "NX", "GET"};
        if (stock.ttl_seconds > 0) set.insert(set.end(), {"EX", std::to_string(stock.ttl_seconds)});
        status = context_->command(set, &reply);
        if (!status.is_ok()) return status;
        if (reply->type == REDIS_REPLY_STRING) split = reply_text(reply.get());
      }
    }
    if (!split.empty() && !parse_plan(split, stock.shards, parts)) {
      return unexpected_reply("stock plan of product " + std::to_string(product));
    }
    status = context_->command({"EXISTS", keys::paused(product)}, &reply);
    if (!status.is_ok()) return status;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) return set_paused(product, true);
    return Status::ok();
  }

  AdmitResult admit_unguarded(const AdmitRequest& request) {
    const OrderEvent& event = request.event;
    if (event.request_id.empty() || event.quantity <= 0) {
      return refused(Code::invalid_argument, "admit needs a request_id and a positive quantity");
    }
    ShardLayout layout;
    Status known = context_->stock_shards.layout(event.product_id, &layout);
    if (!known.is_ok()) return AdmitResult{known, {}, false};
    AdmitResult result = admit_on(layout, request, /*count_rate=*/true);
    if (result.status.code() == Code::not_preloaded) {
      // Another process may have loaded it sharded since this one looked.
      ShardLayout fresh;
      known = context_->stock_shards.layout(event.product_id, &fresh, /*fresh=*/true);
      if (!known.is_ok()) return AdmitResult{known, {}, false};
      if (fresh.count == layout.count) return result;
      layout = fresh;
      result = admit_on(layout, request, /*count_rate=*/false);
    }
    if (result.status.code() != Code::sold_out || layout.count == 1) return result;
    // The home shard ran short: move stock to it from the others and try
    // again, until it sells or every other shard is empty. Each round moves
    // at least the units this buy lacks, which others may buy first; the
    // command timeout bounds the rounds.
    const int home = layout.home(event.user_id);
    const auto deadline = std::chrono::steady_clock::now() + context_->options.endpoint.command_timeout;
    for (int round = 0;; ++round) {
      std::int64_t moved = 0;
      bool sold_out = false;
      Status refilled = context_->stock_shards.refill(
          layout, home, event.quantity, event.request_id + ":" + std::to_string(round), &moved, &sold_out);
      if (!refilled.is_ok()) return AdmitResult{refilled, {}, false};
      if (sold_out) return result;
      if (moved > 0) {
        result = admit_on(layout, request, /*count_rate=*/false);
        if (result.status.code() != Code::sold_out) return result;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return refused(Code::unavailable, "stock is moving between this product's shards; try again");
      }
      // Units on their way between shards land within a round trip or two.
      if (moved == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // admit.lua on the buyer's home shard, in a batch with whoever buys
  // from that shard at the same moment (admit_batches.h); counting the
  // buyer's rate window too (on one Redis) only on a buy's first call.
  AdmitResult admit_on(const ShardLayout& layout, const AdmitRequest& request, bool count_rate) {
    const OrderEvent& event = request.event;
    BatchedBuyer buyer;
    buyer.tag = layout.tag(layout.home(event.user_id));
    bool has_key = !request.idempotency_key.empty();
    bool counted = count_rate && !request.rate_limit_subject.empty() && !context_->cluster();
    std::string lock = keys::user_lock_in(buyer.tag, event.user_id);
    buyer.keys = {lock, keys::idempotency_in(buyer.tag, has_key ? request.idempotency_key : ""),
                  counted ? keys::rate_window(request.rate_limit_subject) : lock};
    buyer.args = {event.request_id, std::to_string(event.user_id), std::to_string(event.quantity),
                  std::string(has_key ? "1" : "0") + (counted ? "1" : "0"), encode_event(event)};
    batches_.admit(&buyer);
    return std::move(buyer.result);
  }

  // One admit.lua call for the batch, the WAIT that confirms it (with
  // redis.wait.replicas), then the accepted requests' `pending` states.
  void run_batch(const std::string& tag, const std::vector<BatchedBuyer*>& batch) noexcept {
    auto fail_all = [&](const Status& status) noexcept {
      for (BatchedBuyer* buyer : batch) {
        try {
          buyer->result = AdmitResult{status, {}, false};
        } catch (...) {
          buyer->result.status = Status(status.code(), std::string());  // no memory for the message
        }
      }
    };
    Status status = guarded("redis admit", [&] {
      std::string sale = keys::sale_in(tag);
      std::vector<std::string> script_keys{sale, stream_of(tag), keys::paused_in(tag)};
      std::vector<std::string> args{std::to_string(context_->options.rate_limit),
                                    std::to_string(context_->options.rate_window_ms)};
      script_keys.reserve(3 + 3 * batch.size());
      args.reserve(2 + 5 * batch.size());
      std::vector<std::string> request_ids;
      request_ids.reserve(batch.size());
      for (BatchedBuyer* buyer : batch) {
        request_ids.push_back(buyer->args[0]);
        for (std::string& key : buyer->keys) script_keys.push_back(std::move(key));
        for (std::string& arg : buyer->args) args.push_back(std::move(arg));
      }
      std::vector<std::string> evalsha = context_->scripts.evalsha_argv(Script::admit, script_keys, args);
      ConfirmAdmissions confirm(context_->options, sale);
      Status confirmed;  // the WAIT's own outcome: confirm.replicated() says it all
      Reply reply;
      Status ran = context_->options.wait_replicas > 0
                       ? context_->run_evalsha(Script::admit, sale, evalsha, &reply, &confirm, &confirmed)
                       : context_->run_evalsha(Script::admit, sale, evalsha, &reply);
      // unavailable: the script may have run (an unknown outcome, reported as
      // such; a resend with the same idempotency key learns the answer).
      if (!ran.is_ok()) return ran;
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != batch.size()) return unexpected_reply("admit");
      std::vector<Pipeline::Command> pending;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        AdmitResult result = outcome_of(reply_view(reply->element[i]), request_ids[i]);
        if (result.status.is_ok() && !result.replayed) {
          pending.push_back({state_route(request_ids[i]),
                             state_set_argv(*context_, RequestState{request_ids[i], RequestStatus::pending, {}, 0},
                                            /*only_if_absent=*/true)});
        }
        if (result.status.is_ok() && context_->options.wait_replicas > 0 && !confirm.replicated()) {
          // Admitted on the master, not known to be on the replicas: a
          // failover now could lose it, so it is not acknowledged. The same
          // idempotency key learns the answer.
          result = refused(Code::unavailable, "the admission did not reach " +
                                                  std::to_string(context_->options.wait_replicas) +
                                                  " replica(s) in time (redis.wait.replicas); resend with the same "
                                                  "idempotency key");
        }
        batch[i]->result = std::move(result);
      }
      // The `pending` states, only where no state exists yet (the consumer
      // may have written the final one already, which must win). A failed
      // write leaves the admission standing (the file comment).
      if (!pending.empty()) {
        std::vector<Status> statuses;
        std::vector<Reply> replies;
        context_->pipeline.command_all(pending, &statuses, &replies);
      }
      return Status::ok();
    });
    if (!status.is_ok()) fail_all(status);
  }

  // A batch's keys and arguments grow with it; this many buyers keep a call
  // well under a millisecond of Redis's time.
  static constexpr std::size_t kMaxBatch = 64;

  std::shared_ptr<RedisContext> context_;
  AdmitBatches batches_;
};

}  // namespace

Admission* new_admission(std::shared_ptr<RedisContext> context) {
  return new RedisAdmission(std::move(context));
}

}  // namespace flashsale::redis
