#include "stage_loader.h"

#include <unistd.h>

#include <filesystem>

#include "flashsale/clock.h"
#include "pipeline/request_id.h"

namespace flashsale::bench {

namespace {

std::string exe_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

}  // namespace

Stages load_stages(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> env = {
      {"STAGE_RATELIMIT", "memory"}, {"STAGE_ADMIT", "memory"},   {"STAGE_OUTBOX", "memory"},
      {"STAGE_RELAY", "memory"},     {"STAGE_PERSIST", "memory"}, {"STAGE_NOTIFY", "memory"},
  };
  for (const auto& [name, value] : overrides) env[name] = value;
  std::vector<std::string> lines;
  for (const auto& [name, value] : env) lines.push_back(name + "=" + value);
  std::vector<char*> environ_like;
  for (auto& line : lines) environ_like.push_back(line.data());
  environ_like.push_back(nullptr);
  std::vector<std::string> warnings;
  Config config = load_config("", environ_like.data(), exe_dir());
  return PluginHost(config).make_stages();
}

SaleStock big_stock(ProductId product, std::int64_t sellable) {
  UnixMillis now = now_ms();
  return SaleStock{product, sellable, now - 3'600'000, now + 86'400'000, 0};
}

OrderEvent order_event(ProductId product, UserId user) {
  return OrderEvent{new_request_id(), user, product, 1, 100, now_ms()};
}

std::vector<OrderEvent> order_batch(ProductId product, UserId first_user, int count) {
  std::vector<OrderEvent> events;
  events.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) events.push_back(order_event(product, first_user + i));
  return events;
}

}  // namespace flashsale::bench
