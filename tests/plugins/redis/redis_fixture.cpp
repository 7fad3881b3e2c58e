// The shared test fixture of redis_fixture.h.
#include "redis_fixture.h"

#include "support/test_logger.h"

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "flashsale/clock.h"
#include "redis/redis_backend.h"
#include "support/temp_dir.h"

namespace flashsale::redis::test {

Settings settings_for(const RedisServer& server, const std::map<std::string, std::string>& overrides) {
  Settings settings;
  settings.set("redis.addr", server.addr());
  settings.set("outbox.claim.idle.ms", "200");
  settings.set("outbox.max.deliveries", "3");
  settings.set("buy.rate.limit", "5");
  settings.set("redis.command.timeout.ms", "2000");
  for (const auto& [key, value] : overrides) settings.set(key, value);
  return settings;
}

namespace {
template <typename Stage>
std::unique_ptr<Stage> must(Stage* stage, const std::string& error) {
  if (stage == nullptr) throw std::runtime_error(error);
  return std::unique_ptr<Stage>(stage);
}
}  // namespace

Stages::Stages(const RedisServer& server, const std::map<std::string, std::string>& overrides)
    : Stages(settings_for(server, overrides)) {}

Stages::Stages(const Settings& settings) {
  std::string error;
  backend_ = must(make_backend(settings, flashsale::test::test_logger().services(), &error), error);
  ratelimit_ = must(backend_->make_ratelimit(&error), error);
  admission_ = must(backend_->make_admission(&error), error);
  outbox_ = must(backend_->make_outbox(&error), error);
  notifier_ = must(backend_->make_notifier(&error), error);
}

std::string start_error(const Settings& settings) {
  std::string error;
  std::unique_ptr<Backend> backend(make_backend(settings, flashsale::test::test_logger().services(), &error));
  return backend ? std::string() : error;
}

Client::Client(const RedisServer& server) : context_(redisConnect("127.0.0.1", server.port())) {
  if (context_ == nullptr || context_->err != 0) throw std::runtime_error("test client cannot connect");
}

Client::~Client() {
  redisFree(context_);
}

std::unique_ptr<redisReply, void (*)(void*)> Client::run(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  void* reply = redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data());
  if (reply == nullptr) throw std::runtime_error(std::string("test client: ") + context_->errstr);
  return {static_cast<redisReply*>(reply), freeReplyObject};
}

std::string Client::text(const std::vector<std::string>& argv) {
  auto reply = run(argv);
  return reply->str == nullptr ? std::string() : std::string(reply->str, reply->len);
}

long long Client::integer(const std::vector<std::string>& argv) {
  auto reply = run(argv);
  if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
  if (reply->type == REDIS_REPLY_STRING) return std::stoll(std::string(reply->str, reply->len));
  throw std::runtime_error("test client: not an integer reply to " + argv[0]);
}

bool Client::exists(const std::string& key) {
  return integer({"EXISTS", key}) == 1;
}

std::vector<std::string> Client::events(const std::string& stream) {
  std::vector<std::string> found;
  auto range = run({"XRANGE", stream, "-", "+"});
  for (std::size_t e = 0; range->type == REDIS_REPLY_ARRAY && e < range->elements; ++e) {
    const redisReply* fields = range->element[e]->element[1];
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
      if (std::string(fields->element[i]->str) == "event") found.emplace_back(fields->element[i + 1]->str);
    }
  }
  return found;
}

std::unique_ptr<redisReply, void (*)(void*)> Client::eval_script(const std::string& name,
                                                                 const std::vector<std::string>& keys,
                                                                 const std::vector<std::string>& args) {
  std::ifstream in(flashsale::test::source_dir() + "/lua/" + name + ".lua");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> argv = {"EVAL", text.str(), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

SaleFixture::SaleFixture(std::int64_t stock, const std::map<std::string, std::string>& overrides)
    : stages(server, overrides), client(server), product(fresh_product()) {
  if (!stages.admission().load_stock(open_sale(product, stock)).is_ok()) throw std::runtime_error("preload failed");
}

std::int64_t SaleFixture::remaining() {
  return client.integer({"HGET", "fs:{p:" + std::to_string(product) + "}:sale", "remaining"});
}

namespace {
std::int64_t random_base() {
  static std::atomic<std::int64_t> next{[] {
    std::random_device device;
    return static_cast<std::int64_t>((std::uint64_t{device()} << 20) % (std::int64_t{1} << 40)) +
           (std::int64_t{1} << 40);
  }()};
  return next.fetch_add(1000);
}
}  // namespace

ProductId fresh_product() {
  return random_base();
}

std::string fresh_request_id() {
  static std::atomic<int> counter{0};
  return "req-" + std::to_string(random_base()) + "-" + std::to_string(counter.fetch_add(1));
}

OrderEvent make_event(ProductId product, UserId user, std::int32_t quantity) {
  OrderEvent event;
  event.request_id = fresh_request_id();
  event.user_id = user;
  event.product_id = product;
  event.quantity = quantity;
  event.unit_price = 1999;
  event.accepted_ms = now_ms();
  return event;
}

SaleStock open_sale(ProductId product, std::int64_t sellable, std::int64_t ttl_seconds) {
  SaleStock stock;
  stock.product_id = product;
  stock.sellable = sellable;
  stock.start_ms = now_ms() - 3600 * 1000;
  stock.end_ms = now_ms() + 3600 * 1000;
  stock.ttl_seconds = ttl_seconds;
  return stock;
}

}  // namespace flashsale::redis::test
