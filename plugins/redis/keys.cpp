// The key names of keys.h.
#include "redis/keys.h"

namespace flashsale::redis::keys {

namespace {
std::string product_prefix(ProductId product) {
  return "fs:{p:" + std::to_string(product) + "}:";
}
}  // namespace

std::string sale(ProductId product) {
  return product_prefix(product) + "sale";
}

std::string user_lock(ProductId product, UserId user) {
  return product_prefix(product) + "lock:" + std::to_string(user);
}

std::string idempotency(ProductId product, const std::string& key) {
  return product_prefix(product) + "idem:" + key;
}

std::string compensated(ProductId product, const std::string& request_id) {
  return product_prefix(product) + "comp:" + request_id;
}

std::string returned(ProductId product, OrderId order) {
  return product_prefix(product) + "ret:" + std::to_string(order);
}

std::string topped_up(ProductId product, TopUpId top_up) {
  return product_prefix(product) + "topup:" + std::to_string(top_up);
}

std::string paused(ProductId product) {
  return product_prefix(product) + "paused";
}

std::string state(const std::string& request_id) {
  return "fs:{r:" + request_id + "}:state";
}

std::string rate_window(const std::string& subject) {
  return "fs:rl:{" + subject + "}";
}

std::string product_tag(ProductId product) {
  return "p:" + std::to_string(product);
}

std::string tagged_stream(const std::string& base, const std::string& tag) {
  return base + "{" + tag + "}";
}

std::string stream_registry(const std::string& base) {
  return base + ":streams";
}

std::string dead_letters(const std::string& stream) {
  return stream + ":dead";
}

std::string dead_letter_replays(const std::string& stream) {
  return stream + ":dead:replayed";
}

}  // namespace flashsale::redis::keys
