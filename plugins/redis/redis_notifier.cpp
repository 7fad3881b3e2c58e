// Stage 6 of the redis family: final request states, and the undo of a
// failed admission on the product's slot: lua/compensate.lua (stock back at
// most once per request_id) and lua/unlock.lua (the user lock only while it
// still holds this request_id). The state (a native SET, request_states.h)
// is written last, so a finish interrupted half-way is simply redone by the
// redelivered event. A batch (finish_all) costs two pipelined round trips,
// not one or three per event.
#include <optional>

#include "redis/keys.h"
#include "redis/redis_stages.h"
#include "redis/request_states.h"

namespace flashsale::redis {

namespace {

class RedisNotifier final : public Notifier {
 public:
  explicit RedisNotifier(std::shared_ptr<RedisContext> context) : context_(std::move(context)) {}

  Status finish(const OrderEvent& event, const PersistResult& result) noexcept override {
    std::vector<bool> finished;
    return finish_all({event}, {result}, &finished);
  }

  // The batch in two pipelined rounds instead of a wait per event: first
  // the undo of every failed admission, then the state of every event whose
  // undo (if any) succeeded, so a state is still written last.
  Status finish_all(const std::vector<OrderEvent>& events, const std::vector<PersistResult>& results,
                    std::vector<bool>* finished) noexcept override {
    return guarded("redis finish_all", [&] {
      if (results.size() != events.size()) {
        return Status(Code::invalid_argument, "finish_all needs one result per event");
      }
      finished->resize(events.size(), false);
      Status first_error;
      auto note = [&](const Status& status) {
        if (!status.is_ok() && first_error.is_ok()) first_error = status;
      };

      std::vector<std::size_t> open;
      for (std::size_t i = 0; i < events.size(); ++i) {
        if ((*finished)[i]) continue;
        if (events[i].request_id.empty() || results[i].status == RequestStatus::pending) {
          note(Status(Code::invalid_argument, "finish needs a request_id and a final status"));
          continue;
        }
        open.push_back(i);
      }

      Round undo(context_->options);
      std::vector<bool> undone(events.size(), true);
      for (std::size_t i : open) {
        if (results[i].status != RequestStatus::failed) continue;
        std::string tag;
        Status found = home_tag(events[i], &tag);
        if (!found.is_ok()) {
          undone[i] = false;
          note(found);
          continue;
        }
        undo.add(*context_, i, Script::compensate, compensate_keys(events[i], tag), compensate_args(events[i]));
        undo.add(*context_, i, Script::unlock, {keys::user_lock_in(tag, events[i].user_id)}, {events[i].request_id});
      }
      undo.run(*context_, [&](std::size_t i, const Status& status) {
        if (status.is_ok()) return;
        undone[i] = false;
        note(status);
      });

      Round states(context_->options);
      for (std::size_t i : open) {
        if (!undone[i]) continue;
        bool failed = results[i].status == RequestStatus::failed;
        RequestState state{events[i].request_id, results[i].status, failed ? results[i].reason : "",
                           failed ? 0 : results[i].order_id};
        states.add_state(*context_, i, state);
      }
      std::vector<bool> written(events.size(), true);  // every command of the event's state (and its WAIT)
      states.run(*context_, [&](std::size_t i, const Status& status) {
        if (status.is_ok()) return;
        written[i] = false;
        note(status);
      });
      for (std::size_t i : open) {
        if (undone[i] && written[i]) (*finished)[i] = true;
      }
      return first_error;
    });
  }

  Status lookup(const std::string& request_id, RequestState* out) noexcept override {
    return guarded("redis lookup", [&] { return read_state(*context_, request_id, out); });
  }

  Status backfill(const RequestState& state) noexcept override {
    return guarded("redis backfill", [&] {
      if (state.request_id.empty()) return Status(Code::invalid_argument, "backfill needs a request_id");
      return write_state(*context_, state);
    });
  }

 private:
  // The hash tag of the buyer's home shard (stock_shards.h): where the
  // admission took its lock, and where a failed one gives its stock back.
  Status home_tag(const OrderEvent& event, std::string* tag) {
    ShardLayout layout;
    Status status = context_->stock_shards.layout(event.product_id, &layout);
    if (status.is_ok()) *tag = layout.tag(layout.home(event.user_id));
    return status;
  }
  static std::vector<std::string> compensate_keys(const OrderEvent& event, const std::string& tag) {
    return {keys::sale_in(tag), keys::compensated_in(tag, event.request_id)};
  }
  std::vector<std::string> compensate_args(const OrderEvent& event) const {
    return {std::to_string(event.quantity), std::to_string(context_->options.state_ttl_sec * 1000)};
  }

  // One pipelined round of commands, each on behalf of an event: script
  // calls (the undo) or native state writes. With redis.wait.replicas, each
  // is followed on its connection by a WAIT, and counts as done only once
  // that many replicas have it: the consumer commits a finished event, so
  // what it was told is done must survive the master's loss.
  class Round {
   public:
    explicit Round(const Options& options) : wait_replicas_(options.wait_replicas), wait_ms_(options.wait_timeout_ms) {}

    void add(const RedisContext& context, std::size_t event, Script script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args) {
      push(event, script, keys.front(), context.scripts.evalsha_argv(script, keys, args));
    }
    void add_state(const RedisContext& context, std::size_t event, const RequestState& state) {
      push(event, std::nullopt, state_route(state.request_id), state_set_argv(context, state, false));
    }

    // Sends every command at once, then reports each one's outcome:
    // done(event, status) per command. A script call that found its script
    // missing (Redis restarted) is redone alone, which loads the script first.
    template <typename Done>
    void run(RedisContext& context, Done&& done) {
      if (commands_.empty()) return;
      std::vector<Status> statuses;
      std::vector<Reply> replies;
      context.pipeline.command_all(commands_, &statuses, &replies);
      bool redone = false;  // the command before a WAIT ran again, outside the WAIT's view
      for (std::size_t k = 0; k < commands_.size(); ++k) {
        if (waits_[k]) {
          std::int64_t replicas = 0;
          if (statuses[k].is_ok() && (redone || !reply_int(replies[k].get(), &replicas) || replicas < wait_replicas_)) {
            statuses[k] = Status(Code::unavailable, "redis: a final write reached " + std::to_string(replicas) +
                                                        " of the " + std::to_string(wait_replicas_) +
                                                        " replicas redis.wait.replicas asks for");
          }
        } else if (scripts_[k].has_value() && is_redis_error(statuses[k], "NOSCRIPT")) {
          Reply reply;
          statuses[k] = context.run_evalsha(*scripts_[k], commands_[k].route, commands_[k].argv, &reply);
          redone = true;
        } else {
          redone = false;
        }
        done(events_[k], statuses[k]);
      }
    }

   private:
    void push(std::size_t event, std::optional<Script> script, std::string route, std::vector<std::string> argv) {
      if (wait_replicas_ > 0) {
        // Same route, same lane, same batch: the WAIT counts this write.
        push_one(event, script, route, std::move(argv), false);
        push_one(event, std::nullopt, std::move(route),
                 {"WAIT", std::to_string(wait_replicas_), std::to_string(wait_ms_)}, true);
        return;
      }
      push_one(event, script, std::move(route), std::move(argv), false);
    }
    void push_one(std::size_t event, std::optional<Script> script, std::string route, std::vector<std::string> argv,
                  bool wait) {
      commands_.push_back(Pipeline::Command{std::move(route), std::move(argv)});
      scripts_.push_back(script);
      waits_.push_back(wait);
      events_.push_back(event);
    }

    const std::int64_t wait_replicas_;
    const std::int64_t wait_ms_;
    std::vector<Pipeline::Command> commands_;
    std::vector<std::optional<Script>> scripts_;  // none: a native command (or a WAIT)
    std::vector<bool> waits_;
    std::vector<std::size_t> events_;
  };

  std::shared_ptr<RedisContext> context_;
};

}  // namespace

Notifier* new_notifier(std::shared_ptr<RedisContext> context) {
  return new RedisNotifier(std::move(context));
}

}  // namespace flashsale::redis
