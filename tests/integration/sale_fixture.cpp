#include "integration/sale_fixture.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "flashsale/clock.h"
#include "http/payment_signature.h"

namespace flashsale::test {

std::string embedded_config() {
  return source_dir() + "/etc/embedded.properties";
}

EmbeddedServer::EmbeddedServer(std::map<std::string, std::string> env, const TempDir* dir) {
  if (dir == nullptr) {
    own_dir_ = std::make_unique<TempDir>();
    dir = own_dir_.get();
  }
  db_path_ = dir->file("flash_sale.db");
  env.emplace("DB_PATH", db_path_);
  env.emplace("PLUGIN_DIR", plugin_dir());
  process_ = std::make_unique<ServerProcess>(embedded_config(), env);
}

long long create_product(HttpClient& client, long long stock, const std::string& name) {
  UnixMillis now = now_ms();
  std::string body = R"({"name":")" + name + R"(","stock":)" + std::to_string(stock) +
                     R"(,"sale_price":399900,"start_time":")" + format_rfc3339(now - 3600000) + R"(","end_time":")" +
                     format_rfc3339(now + 86400000) + R"("})";
  HttpReply reply = client.post("/api/products", body, kAdmin);
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  return reply.num("id");
}

void preload(HttpClient& client, long long product_id) {
  HttpReply reply = client.post("/api/flash_sale/preload/" + std::to_string(product_id), "", kAdmin);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
}

std::string buy_body(long long product_id, long long user_id, long long quantity) {
  return R"({"product_id":)" + std::to_string(product_id) + R"(,"user_id":)" + std::to_string(user_id) +
         R"(,"quantity":)" + std::to_string(quantity) + "}";
}

long long order_of(HttpClient& client, long long product, long long user) {
  HttpReply bought = client.post("/api/flash_sale/buy", buy_body(product, user));
  INFO(bought.body);
  REQUIRE(bought.status == 202);
  auto finals = poll_final(client, {bought.str("request_id")});
  REQUIRE(finals.size() == 1);
  const HttpReply& result = finals.begin()->second;
  INFO(result.body);
  REQUIRE(result.str("status") == "success");
  return result.num("order_id");
}

long long remaining(HttpClient& client, long long product) {
  return client.get("/api/products/" + std::to_string(product)).num("remaining");
}

HttpReply reconcile(HttpClient& client, long long product) {
  HttpReply reply = client.get("/api/admin/reconcile/" + std::to_string(product), kAdmin);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  return reply;
}

HttpReply pay(HttpClient& client, long long order, const std::string& payment_id, long long amount,
              const std::string& secret) {
  std::string body = R"({"payment_id":")" + payment_id + R"(","amount":)" + std::to_string(amount) + "}";
  return client.post("/api/orders/" + std::to_string(order) + "/pay", body,
                     {{"X-Payment-Signature", payment_signature(secret, body)}});
}

HttpReply cancel(HttpClient& client, long long order, long long user) {
  return client.post("/api/orders/" + std::to_string(order) + "/cancel",
                     R"({"user_id":)" + std::to_string(user) + "}");
}

HttpReply await_order_status(HttpClient& client, long long order, const std::string& status, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  HttpReply reply;
  do {
    reply = client.get("/api/orders/" + std::to_string(order));
    if (reply.status == 200 && reply.str("status") == status) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return reply;
}

bool stock_back(const HttpReply& order) {
  return order.status == 200 && order.json && order.str("status") == "cancelled" &&
         order.json->optValue<bool>("stock_returned", false);
}

HttpReply await_stock_back(HttpClient& client, long long order, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  HttpReply reply = client.get("/api/orders/" + std::to_string(order));
  while (!stock_back(reply) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    reply = client.get("/api/orders/" + std::to_string(order));
  }
  return reply;
}

std::map<std::string, HttpReply> poll_final(HttpClient& client, const std::vector<std::string>& request_ids,
                                            int timeout_ms) {
  std::map<std::string, HttpReply> final_replies;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> open = request_ids;
  while (!open.empty() && std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> still_open;
    for (const std::string& id : open) {
      HttpReply reply = client.get("/api/flash_sale/result/" + id);
      if (reply.status == 200 && reply.str("status") != "pending")
        final_replies[id] = reply;
      else
        still_open.push_back(id);
    }
    open = std::move(still_open);
    if (!open.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return final_replies;
}

StampedeResult stampede(int port, long long product, int users, int threads, long long first_user) {
  StampedeResult result;
  std::mutex mutex;
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      HttpClient client(port);
      for (int i = next++; i < users; i = next++) {
        HttpReply reply = client.post("/api/flash_sale/buy", buy_body(product, first_user + i));
        std::lock_guard lock(mutex);
        if (reply.status == 202)
          result.accepted.push_back(reply.str("request_id"));
        else
          result.rejected[std::to_string(reply.status) + " " + reply.error_code()]++;
      }
    });
  }
  for (auto& thread : pool) thread.join();
  return result;
}

}  // namespace flashsale::test
