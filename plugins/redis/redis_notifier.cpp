// Stage 6 of the redis family: final request states, and the undo of a
// failed admission on the product's slot: lua/compensate.lua (stock back at
// most once per request_id) and lua/unlock.lua (the user lock only while it
// still holds this request_id). The state is written last, so a finish
// interrupted half-way is simply redone by the redelivered event.
#include "redis/keys.h"
#include "redis/redis_stages.h"
#include "redis/request_states.h"

namespace flashsale::redis {

namespace {

class RedisNotifier final : public Notifier {
 public:
  explicit RedisNotifier(std::shared_ptr<RedisContext> context) : context_(std::move(context)) {}

  Status finish(const OrderEvent& event, const PersistResult& result) noexcept override {
    return guarded("redis finish", [&] {
      if (event.request_id.empty() || result.status == RequestStatus::pending) {
        return Status(Code::invalid_argument, "finish needs a request_id and a final status");
      }
      bool failed = result.status == RequestStatus::failed;
      if (failed) {
        Status undone = undo_admission(event);
        if (!undone.is_ok()) return undone;
      }
      return write_state(*context_, RequestState{event.request_id, result.status, failed ? result.reason : "",
                                                 failed ? 0 : result.order_id});
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
  Status undo_admission(const OrderEvent& event) {
    Reply reply;
    Status compensated = context_->run(
        Script::compensate, {keys::sale(event.product_id), keys::compensated(event.product_id, event.request_id)},
        {std::to_string(event.quantity), std::to_string(context_->options.state_ttl_sec * 1000)}, &reply);
    if (!compensated.is_ok()) return compensated;
    return context_->run(Script::unlock, {keys::user_lock(event.product_id, event.user_id)}, {event.request_id},
                         &reply);
  }

  std::shared_ptr<RedisContext> context_;
};

}  // namespace

Notifier* new_notifier(std::shared_ptr<RedisContext> context) {
  return new RedisNotifier(std::move(context));
}

}  // namespace flashsale::redis
