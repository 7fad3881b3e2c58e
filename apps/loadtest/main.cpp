// flashsale-loadtest: a stampede of buyers against a running server, then a
// check of every invariant a flash sale must keep. Exit 0 when all hold, 1 on
// any violation, 2 on a usage or connection problem.
#include <fstream>
#include <iostream>
#include <random>

#include "api_client.h"
#include "flashsale/clock.h"
#include "lifecycle.h"
#include "lifecycle_report.h"
#include "options.h"
#include "reconciliation.h"
#include "report.h"
#include "stampede.h"

using flashsale::client::HttpClient;
using flashsale::client::HttpReply;
using namespace flashsale::loadtest;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& detail) {
  std::cerr << "flashsale-loadtest: " << what << ": " << detail << "\n";
  std::exit(2);
}

[[noreturn]] void fail(const std::string& what, const HttpReply& reply) {
  fail(what, "HTTP " + std::to_string(reply.status) + " " + reply.body);
}

// Returns the product id to buy, creating and preloading one if asked.
std::int64_t prepare_product(HttpClient& admin, const Options& options,
                             const std::map<std::string, std::string>& token) {
  if (options.create_stock == 0) return options.product;
  flashsale::UnixMillis now = flashsale::now_ms();
  std::string body = R"({"name":"loadtest","stock":)" + std::to_string(options.create_stock) +
                     R"(,"sale_price":100,"start_time":")" + flashsale::format_rfc3339(now - 3'600'000) +
                     R"(","end_time":")" + flashsale::format_rfc3339(now + 86'400'000) + R"(","stock_shards":)" +
                     std::to_string(options.stock_shards) + "}";
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
  auto [host, port] = host_port(options.addr);
  std::map<std::string, std::string> token = {{"X-Admin-Token", options.admin_token}};
  ServerView server;
  std::int64_t product = 0;
  try {
    HttpClient admin(host, port);
    product = prepare_product(admin, options, token);
    Reconciliation before = read_reconciliation(admin, product, options.admin_token);
    if (!before.ok) fail("reading the product's stock", before.body);
    if (before.admit_remaining < 0) fail("the product is not preloaded", before.body);
    if (options.lifecycle &&
        (before.orders_awaiting_payment != 0 || before.returns_pending != 0 || before.in_flight != 0)) {
      fail(
          "-pay-ratio and -cancel-ratio need a product with no awaiting orders, stock returns or requests in "
          "flight (try -create-stock)",
          before.body);
    }
    server.stock_at_start = before.admit_remaining;
    server.sold_before = before.quantity_sold;
    server.cancelled_before = before.quantity_cancelled;

    std::random_device seed;
    std::int64_t user_base = static_cast<std::int64_t>(seed() % 1'000'000'000ULL) * 100'000'000LL + 1;
    RunState state;
    run_stampede(options, product, user_base, &state);

    Reconciliation after = read_reconciliation(admin, product, options.admin_token);
    server.reconcile_ok = after.ok;
    if (server.reconcile_ok) {
      server.initial_stock = after.initial_stock;
      server.admit_remaining = after.admit_remaining;
      server.quantity_sold = after.quantity_sold;
      server.reconciled = after.reconciled;
      server.quantity_cancelled = after.quantity_cancelled;
      server.returns_pending = after.returns_pending;
    }
    LifecycleReport lifecycle;
    if (options.lifecycle) {
      LifecycleRun run = run_lifecycle(options, product, state, static_cast<std::uint64_t>(user_base));
      lifecycle = judge_lifecycle(run, before, server.stock_at_start);
    }
    Report report = make_report(options, state, server, state.send_seconds, options.lifecycle ? &lifecycle : nullptr);
    std::cout << "product " << product << "\n" << report.text;
    if (!options.json_file.empty()) std::ofstream(options.json_file) << report.json;
    return report.violations.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "flashsale-loadtest: " << e.what() << "\n";
    return 2;
  }
}
