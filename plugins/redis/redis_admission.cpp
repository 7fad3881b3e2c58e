// Stage 2 of the redis family: lua/admit.lua decides and applies an admission
// in one script call on the product's slot (stock, user lock, idempotency
// key, outbox XADD), after validating everything before its first write.
// With the ratelimit stage also redis, the same call first counts the buyer
// in its rate-limit window (counts_rate_limit): one round trip per buy. That
// window key carries the subject's tag, not the product's, so the fused call
// needs one Redis holding both, which is what this family supports today
// (plugins/redis/README.md, "Redis Cluster plan"). lua/load_stock.lua preloads the stock and
// lua/return_stock.lua gives a cancelled order's quantity back (once per
// order) and frees its buyer, each on the product's slot too.
//
// The request's `pending` state lives under the request's own hash tag (so
// /result finds it by request_id alone), hence outside the script's slot. It
// is written right *after* an accepting script by a native SET NX (only if no
// state exists yet: the consumer may already have recorded the final state,
// which must win). A refusal (the hot path of a sold-out sale) thus costs one
// round trip; an acceptance two, but the SET is queued by the pipeline's I/O
// thread as soon as the script's reply is in (PendingState), and the caller
// is woken once both are done. If that write fails, the admission stands and
// is reported accepted; /result answers not_found until the final state
// arrives (the order is not lost).
#include <string_view>

#include "flashsale/event_codec.h"
#include "redis/keys.h"
#include "redis/redis_stages.h"
#include "redis/request_states.h"

namespace flashsale::redis {

namespace {

AdmitResult refused(Code code, std::string message) {
  return AdmitResult{Status(code, std::move(message)), {}, false};
}

// The script's answer to an acceptance: a bare "ok" (every other outcome is
// an {outcome, detail} pair), the cheapest reply for Redis to make.
bool accepted(const redisReply* reply) {
  return reply->type == REDIS_REPLY_STRING && std::string_view(reply->str, reply->len) == "ok";
}

// Maps the script's answer to an AdmitResult.
AdmitResult outcome_of(const redisReply* reply, const OrderEvent& event) {
  if (accepted(reply)) return AdmitResult{Status::ok(), event.request_id, false};
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
    return AdmitResult{unexpected_reply("admit"), {}, false};
  }
  std::string outcome = reply_text(reply->element[0]);
  std::string detail = reply_text(reply->element[1]);
  if (outcome == "replay") return AdmitResult{Status::ok(), detail, true};
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
  if (outcome == "wrong_type")
    return refused(Code::internal, "admit: key " + detail + " holds a value of another type");
  return AdmitResult{unexpected_reply("admit"), {}, false};
}

// The request's `pending` state (SET NX), queued by the pipeline's I/O thread
// the moment the admit script's reply accepts, on the state's own lane: the
// caller is woken once both are done, without a second hand-off.
class PendingState final : public FollowUp {
 public:
  PendingState(const RedisContext& context, const std::string& request_id)
      : context_(context), request_id_(request_id) {}

  bool next(const Status& status, const redisReply* reply, std::string* route,
            std::vector<std::string>* argv) noexcept override {
    if (!status.is_ok() || reply == nullptr || !accepted(reply)) {
      return false;  // refused, replayed or failed: nothing to record
    }
    try {
      *argv = state_set_argv(context_, RequestState{request_id_, RequestStatus::pending, {}, 0},
                             /*only_if_absent=*/true);
      *route = state_route(request_id_);
    } catch (...) {
      return false;  // no memory: best effort, as the file comment says
    }
    return true;
  }

 private:
  const RedisContext& context_;
  const std::string& request_id_;
};

class RedisAdmission final : public Admission {
 public:
  explicit RedisAdmission(std::shared_ptr<RedisContext> context) : context_(std::move(context)) {}

  AdmitResult admit(const AdmitRequest& request) noexcept override {
    AdmitResult result;
    result.status = guarded("redis admit", [&] {
      result = admit_unguarded(request);
      return result.status;
    });
    return result;
  }

  bool counts_rate_limit() const noexcept override { return true; }

  Status load_stock(const SaleStock& stock) noexcept override {
    return guarded("redis load_stock", [&] {
      if (stock.sellable < 0 || stock.ttl_seconds < 0 || stock.end_ms < stock.start_ms) {
        return Status(Code::invalid_argument,
                      "stock needs sellable >= 0, ttl_seconds >= 0 and "
                      "start_ms <= end_ms");
      }
      Reply reply;
      return context_->run(Script::load_stock, {keys::sale(stock.product_id)},
                           {std::to_string(stock.sellable), std::to_string(stock.start_ms),
                            std::to_string(stock.end_ms), std::to_string(stock.ttl_seconds)},
                           &reply);
    });
  }

  Status stock(ProductId product_id, StockLevel* level) noexcept override {
    return guarded("redis stock", [&] {
      Reply reply;
      Status status = context_->command({"HGET", keys::sale(product_id), "remaining"}, &reply);
      if (!status.is_ok()) return status;
      StockLevel found;
      if (reply->type != REDIS_REPLY_NIL) {
        if (!reply_int(reply.get(), &found.remaining)) return unexpected_reply("stock");
        found.preloaded = true;
      }
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
  // clears it (admission.h).
  Status set_paused(ProductId product_id, bool paused) noexcept override {
    return guarded("redis set_paused", [&] {
      Reply reply;
      if (paused) return context_->command({"SET", keys::paused(product_id), "1"}, &reply);
      return context_->command({"DEL", keys::paused(product_id)}, &reply);
    });
  }

  Status return_stock(const StockReturn& stock_return) noexcept override {
    return guarded("redis return_stock", [&] {
      if ((stock_return.request_id.empty() && !stock_return.is_top_up()) || stock_return.quantity <= 0) {
        return Status(Code::invalid_argument,
                      "return_stock needs a request_id (or a top_up_id) and a positive quantity");
      }
      ProductId product = stock_return.product_id;
      Reply reply;
      if (stock_return.is_top_up()) {
        return context_->run(Script::return_stock,
                             {keys::sale(product), keys::topped_up(product, stock_return.top_up_id)},
                             {std::to_string(stock_return.quantity)}, &reply);
      }
      return context_->run(Script::return_stock,
                           {keys::sale(product), keys::returned(product, stock_return.order_id),
                            keys::user_lock(product, stock_return.user_id)},
                           {std::to_string(stock_return.quantity), stock_return.request_id}, &reply);
    });
  }

 private:
  AdmitResult admit_unguarded(const AdmitRequest& request) {
    const OrderEvent& event = request.event;
    if (event.request_id.empty() || event.quantity <= 0) {
      return refused(Code::invalid_argument, "admit needs a request_id and a positive quantity");
    }
    bool has_key = !request.idempotency_key.empty();
    std::string sale = keys::sale(event.product_id);
    std::vector<std::string> script_keys = {sale, keys::user_lock(event.product_id, event.user_id),
                                            keys::idempotency(event.product_id, has_key ? request.idempotency_key : ""),
                                            context_->options.stream, keys::paused(event.product_id)};
    std::vector<std::string> args = {event.request_id, std::to_string(event.user_id), std::to_string(event.quantity),
                                     has_key ? "1" : "0", encode_event(event)};
    if (!request.rate_limit_subject.empty()) {
      script_keys.push_back(keys::rate_window(request.rate_limit_subject));
      args.push_back(std::to_string(context_->options.rate_limit));
      args.push_back(std::to_string(context_->options.rate_window_ms));
    }
    std::vector<std::string> evalsha = context_->scripts.evalsha_argv(Script::admit, script_keys, args);
    PendingState pending(*context_, event.request_id);
    Status state_written;  // not looked at: a failed pending write leaves the admission standing
    Reply reply;
    Status ran = context_->run_evalsha(Script::admit, sale, evalsha, &reply, &pending, &state_written);
    // unavailable: the script may have run (an unknown outcome, reported as
    // such; a resend with the same idempotency key learns the answer).
    if (!ran.is_ok()) return AdmitResult{ran, {}, false};
    return outcome_of(reply.get(), event);
  }

  std::shared_ptr<RedisContext> context_;
};

}  // namespace

Admission* new_admission(std::shared_ptr<RedisContext> context) {
  return new RedisAdmission(std::move(context));
}

}  // namespace flashsale::redis
