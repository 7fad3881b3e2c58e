// Shared steps of the end-to-end tests: a server on the embedded profile with
// its own SQLite file, products created and preloaded over HTTP, and polling
// of results until they are final.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace flashsale::test {

inline const std::map<std::string, std::string> kAdmin = {{"X-Admin-Token", "dev-admin-token"}};
inline const std::string kWebhookSecret = "dev-webhook-secret";  // the profiles' payment.webhook.secret

std::string embedded_config();  // <source>/etc/embedded.properties

class EmbeddedServer {
 public:
  explicit EmbeddedServer(std::map<std::string, std::string> env = {}, const TempDir* dir = nullptr);
  int port() const { return process_->port(); }
  const std::string& db_path() const { return db_path_; }
  int stop() { return process_->stop(); }

 private:
  std::unique_ptr<TempDir> own_dir_;
  std::string db_path_;
  std::unique_ptr<ServerProcess> process_;
};

// Creates a product on sale from an hour ago for a day; returns its id.
long long create_product(HttpClient& client, long long stock, const std::string& name = "flash item");
void preload(HttpClient& client, long long product_id);
std::string buy_body(long long product_id, long long user_id, long long quantity = 1);

struct StampedeResult {
  std::vector<std::string> accepted;
  std::map<std::string, int> rejected;  // "409 sold_out" → count
};

// `users` distinct buyers over `threads` keep-alive connections, users numbered from first_user.
StampedeResult stampede(int port, long long product, int users, int threads, long long first_user = 1);

// Buys one unit as `user`, waits until the request succeeded and returns its order id.
long long order_of(HttpClient& client, long long product, long long user);
// The admit stage's stock of a preloaded product (GET /api/products/{id}).
long long remaining(HttpClient& client, long long product);
// GET /api/admin/reconcile/{product}, required to answer 200.
HttpReply reconcile(HttpClient& client, long long product);

// POST /api/orders/{order}/pay with the body signed by `secret`.
HttpReply pay(HttpClient& client, long long order, const std::string& payment_id, long long amount,
              const std::string& secret = kWebhookSecret);
// POST /api/orders/{order}/cancel as `user`.
HttpReply cancel(HttpClient& client, long long order, long long user);
// Polls GET /api/orders/{order} until `status` or the deadline; the last reply.
HttpReply await_order_status(HttpClient& client, long long order, const std::string& status,
                             int timeout_ms = 30000);
// Whether an order reply is cancelled with its stock back in the admit stage.
bool stock_back(const HttpReply& order);
// Polls the order until stock_back or the deadline; the last reply.
HttpReply await_stock_back(HttpClient& client, long long order, int timeout_ms = 30000);

// Polls each id until success/failed or the deadline; returns id → final reply.
std::map<std::string, HttpReply> poll_final(HttpClient& client, const std::vector<std::string>& request_ids,
                                            int timeout_ms = 60000);

}  // namespace flashsale::test
