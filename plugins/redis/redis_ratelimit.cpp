// Stage 1 of the redis family: the sliding-window log of lua/ratelimit.lua,
// one sorted set per subject, judged by Redis' clock so every API node
// counts against the same window.
#include "redis/keys.h"
#include "redis/redis_stages.h"

namespace flashsale::redis {

namespace {

class RedisRateLimiter final : public RateLimiter {
 public:
  explicit RedisRateLimiter(std::shared_ptr<RedisContext> context) : context_(std::move(context)) {}

  Status allow(const std::string& subject, bool* allowed) noexcept override {
    return guarded("redis ratelimit", [&] {
      const Options& options = context_->options;
      Reply reply;
      Status status =
          context_->run(Script::ratelimit, {keys::rate_window(subject)},
                        {std::to_string(options.rate_limit), std::to_string(options.rate_window_ms)}, &reply);
      if (!status.is_ok()) return status;
      std::int64_t verdict = 0;
      if (!reply_int(reply.get(), &verdict)) return unexpected_reply("ratelimit");
      *allowed = verdict == 1;
      return Status::ok();
    });
  }

 private:
  std::shared_ptr<RedisContext> context_;
};

}  // namespace

RateLimiter* new_ratelimit(std::shared_ptr<RedisContext> context) {
  return new RedisRateLimiter(std::move(context));
}

}  // namespace flashsale::redis
