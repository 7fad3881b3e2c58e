// The key names of keys.h.
#include "redis/keys.h"

namespace flashsale::redis::keys {

namespace {
std::string prefix(const std::string& tag) {
  return "fs:{" + tag + "}:";
}
}  // namespace

std::string sale_in(const std::string& tag) {
  return prefix(tag) + "sale";
}

std::string user_lock_in(const std::string& tag, UserId user) {
  return prefix(tag) + "lock:" + std::to_string(user);
}

std::string idempotency_in(const std::string& tag, const std::string& key) {
  return prefix(tag) + "idem:" + key;
}

std::string compensated_in(const std::string& tag, const std::string& request_id) {
  return prefix(tag) + "comp:" + request_id;
}

std::string returned_in(const std::string& tag, OrderId order) {
  return prefix(tag) + "ret:" + std::to_string(order);
}

std::string topped_up_in(const std::string& tag, TopUpId top_up) {
  return prefix(tag) + "topup:" + std::to_string(top_up);
}

std::string paused_in(const std::string& tag) {
  return prefix(tag) + "paused";
}

std::string transfers(const std::string& tag) {
  return prefix(tag) + "xfer";
}

std::string transferred_in(const std::string& tag, const std::string& transfer_id) {
  return prefix(tag) + "xin:" + transfer_id;
}

std::string shard_count(ProductId product) {
  return prefix(product_tag(product)) + "shards";
}

std::string shard_plan(ProductId product) {
  return prefix(product_tag(product)) + "plan";
}

std::string sale(ProductId product) {
  return sale_in(product_tag(product));
}

std::string user_lock(ProductId product, UserId user) {
  return user_lock_in(product_tag(product), user);
}

std::string idempotency(ProductId product, const std::string& key) {
  return idempotency_in(product_tag(product), key);
}

std::string compensated(ProductId product, const std::string& request_id) {
  return compensated_in(product_tag(product), request_id);
}

std::string returned(ProductId product, OrderId order) {
  return returned_in(product_tag(product), order);
}

std::string topped_up(ProductId product, TopUpId top_up) {
  return topped_up_in(product_tag(product), top_up);
}

std::string paused(ProductId product) {
  return paused_in(product_tag(product));
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
  return base + ":live_streams";
}

std::string dead_letters(const std::string& stream) {
  return stream + ":dead";
}

std::string dead_letter_replays(const std::string& stream) {
  return stream + ":dead:replayed";
}

std::string retired_replays(const std::string& base) {
  return base + ":dead:replayed:retired";
}

}  // namespace flashsale::redis::keys
