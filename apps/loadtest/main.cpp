// flashsale-loadtest: a stampede of buyers against a running server, then a
// check of every invariant a flash sale must keep. Exit 0 when all hold, 1 on
// any violation, 2 on a usage or connection problem.
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>

#include "api_client.h"
#include "options.h"
#include "report.h"
#include "stampede.h"

using flashsale::client::HttpClient;
using flashsale::client::HttpReply;
using namespace flashsale::loadtest;

namespace {

[[noreturn]] void fail(const std::string& what, const HttpReply& reply) {
  std::cerr << "flashsale-loadtest: " << what << ": HTTP " << reply.status << " " << reply.body << "\n";
  std::exit(2);
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Returns the product id to buy, creating and preloading one if asked.
std::int64_t prepare_product(HttpClient& admin, const Options& options,
                             const std::map<std::string, std::string>& token) {
  if (options.create_stock == 0) return options.product;
  auto now = std::chrono::system_clock::now();
  std::string body = R"({"name":"loadtest","stock":)" + std::to_string(options.create_stock) +
                     R"(,"sale_price":100,"start_time":")" + rfc3339(now - std::chrono::hours(1)) +
                     R"(","end_time":")" + rfc3339(now + std::chrono::hours(24)) + R"("})";
  HttpReply created = admin.post("/api/products", body, token);
  if (created.status != 201) fail("creating the product", created);
  std::int64_t id = created.num("id");
  HttpReply preloaded = admin.post("/api/flash_sale/preload/" + std::to_string(id), "", token);
  if (preloaded.status != 200) fail("preloading the product", preloaded);
  return id;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  auto colon = options.addr.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "flashsale-loadtest: -addr must be host:port\n";
    return 2;
  }
  std::map<std::string, std::string> token = {{"X-Admin-Token", options.admin_token}};
  ServerView server;
  std::int64_t product = 0;
  try {
    HttpClient admin(options.addr.substr(0, colon), std::stoi(options.addr.substr(colon + 1)));
    product = prepare_product(admin, options, token);
    HttpReply before = admin.get("/api/admin/reconcile/" + std::to_string(product), token);
    if (before.status != 200) fail("reading the product's stock", before);
    if (before.num("admit_remaining") < 0) fail("the product is not preloaded", before);
    server.stock_at_start = before.num("admit_remaining");
    server.sold_before = before.num("quantity_sold");

    std::random_device seed;
    std::int64_t user_base = static_cast<std::int64_t>(seed() % 1'000'000'000ULL) * 100'000'000LL + 1;
    RunState state;
    run_stampede(options, product, user_base, &state);

    HttpReply after = admin.get("/api/admin/reconcile/" + std::to_string(product), token);
    server.reconcile_ok = after.status == 200;
    if (server.reconcile_ok) {
      server.initial_stock = after.num("initial_stock");
      server.admit_remaining = after.num("admit_remaining");
      server.quantity_sold = after.num("quantity_sold");
      server.reconciled = after.json->getValue<bool>("reconciled");
    }
    Report report = make_report(options, state, server, state.send_seconds);
    std::cout << "product " << product << "\n" << report.text;
    if (!options.json_file.empty()) std::ofstream(options.json_file) << report.json;
    return report.violations.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "flashsale-loadtest: " << e.what() << "\n";
    return 2;
  }
}
