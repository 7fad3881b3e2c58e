// What the redis family's tests share: a redis-server of their own, the
// family's stages made from settings pointing at it, and a plain hiredis
// client to look at (or tamper with) the keys behind the stages' backs.
#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flashsale/plugin.h"
#include "support/redis_server.h"

namespace flashsale::redis::test {

using flashsale::test::RedisServer;
using flashsale::test::RedisServerOptions;

// Settings for the family on `server`, with short claim times for the tests.
Settings settings_for(const RedisServer& server, const std::map<std::string, std::string>& overrides = {});

// The family's Backend and its four stages; throws with the start-up message
// when the backend refuses to start.
class Stages {
 public:
  explicit Stages(const RedisServer& server, const std::map<std::string, std::string>& overrides = {});
  explicit Stages(const Settings& settings);  // e.g. on a cluster

  RateLimiter& ratelimit() { return *ratelimit_; }
  Admission& admission() { return *admission_; }
  Outbox& outbox() { return *outbox_; }
  Notifier& notifier() { return *notifier_; }

 private:
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<RateLimiter> ratelimit_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Notifier> notifier_;
};

// Makes the backend expecting a refusal; returns its message ("" if it
// started).
std::string start_error(const Settings& settings);

// A direct connection for inspecting keys.
class Client {
 public:
  explicit Client(const RedisServer& server);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs a command; throws on I/O failure. Error replies come back as replies.
  std::unique_ptr<redisReply, void (*)(void*)> run(const std::vector<std::string>& argv);
  std::string text(const std::vector<std::string>& argv);   // string/status/error reply
  long long integer(const std::vector<std::string>& argv);  // integer reply (or integer string)
  bool exists(const std::string& key);
  // The `event` fields of every entry of an outbox stream, in order (an
  // entry carries one per buyer its admit.lua call accepted).
  std::vector<std::string> events(const std::string& stream);
  // EVAL of lua/<name>.lua as the plugin ships it.
  std::unique_ptr<redisReply, void (*)(void*)> eval_script(const std::string& name,
                                                           const std::vector<std::string>& keys,
                                                           const std::vector<std::string>& args);

 private:
  redisContext* context_;
};

// The usual start of a test: a server, the stages (with `overrides`), a
// client, and one product preloaded with `stock` units on an open sale.
struct SaleFixture {
  explicit SaleFixture(std::int64_t stock, const std::map<std::string, std::string>& overrides = {});
  std::int64_t remaining();  // the sale hash's remaining, read directly

  RedisServer server;
  Stages stages;
  Client client;
  ProductId product;
};

// Test data: random ids so test cases never meet, a sale open now.
ProductId fresh_product();
std::string fresh_request_id();
OrderEvent make_event(ProductId product, UserId user, std::int32_t quantity = 1);
SaleStock open_sale(ProductId product, std::int64_t sellable, std::int64_t ttl_seconds = 3600);

}  // namespace flashsale::redis::test
