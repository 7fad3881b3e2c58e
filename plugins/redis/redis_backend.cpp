// The Backend of redis_backend.h. Redis unreachable at start-up stops start-up
// with a message naming redis.addr: the eviction policy cannot be checked
// without it. Once running, an outage only makes calls fail (unavailable)
// until Redis is back; the pool reconnects by itself.
#include "redis/redis_backend.h"

#include <memory>

#include "redis/redis_stages.h"

namespace flashsale::redis {

namespace {

// Runs a stage factory, turning an exception into nullptr and a message.

class RedisBackend final : public Backend {
 public:
  explicit RedisBackend(std::shared_ptr<RedisContext> context) : context_(std::move(context)) {}

  RateLimiter* make_ratelimit(std::string* error) noexcept override {
    return make_or_report(error, [&] { return new_ratelimit(context_); });
  }
  Admission* make_admission(std::string* error) noexcept override {
    return make_or_report(error, [&] { return new_admission(context_); });
  }
  Outbox* make_outbox(std::string* error) noexcept override {
    return make_or_report(error, [&]() -> Outbox* {
      Status status;
      Outbox* outbox = new_outbox(context_, &status);
      if (outbox == nullptr && error != nullptr) *error = "cannot create the outbox group: " + status.message();
      return outbox;
    });
  }
  Notifier* make_notifier(std::string* error) noexcept override {
    return make_or_report(error, [&] { return new_notifier(context_); });
  }

  Status ready() noexcept override {
    try {
      Reply reply;
      return context_->command({"PING"}, &reply);  // bounded by redis.command.timeout.ms
    } catch (const std::exception& e) {
      return {Code::internal, e.what()};
    }
  }

 private:
  std::shared_ptr<RedisContext> context_;
};

}  // namespace

Backend* make_backend(const Settings& settings, const HostServices&, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  return make_or_report(error, [&]() -> Backend* {
    Options options;
    if (!read_options(settings, &options, error)) return nullptr;
    auto context = std::make_shared<RedisContext>(options);
    Status checked = check_and_load(*context);
    if (!checked.is_ok()) {
      *error = checked.message();
      return nullptr;
    }
    return new RedisBackend(std::move(context));
  });
}

}  // namespace flashsale::redis
