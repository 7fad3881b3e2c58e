#include "options.h"

#include <cstdlib>
#include <iostream>
#include <string_view>

namespace flashsale::loadtest {

namespace {

[[noreturn]] void usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "flashsale-loadtest: " << problem << "\n";
  std::cerr << "usage: flashsale-loadtest [flags]\n"
               "  -addr HOST:PORT      server (default 127.0.0.1:8080)\n"
               "  -product ID          product to buy (already preloaded)\n"
               "  -create-stock N      create and preload a fresh product with stock N instead\n"
               "  -stock-shards K      with -create-stock: spread its stock over K admit shards (1-64, default 1)\n"
               "  -users N             distinct buyers (default 1000)\n"
               "  -c N                 concurrent connections (default 50)\n"
               "  -dup-ratio F         fraction of users who click twice (default 0)\n"
               "  -retry-ratio F       fraction of users who resend with the same idempotency key (default 0)\n"
               "  -duration SEC        stop sending after SEC seconds\n"
               "  -requests N          stop sending after N requests\n"
               "  -rate N              send at most N requests/s in all (default: as fast as possible)\n"
               "  -wait SEC            how long to wait for every accepted request to become final (default 60)\n"
               "  -admin-token TOKEN   X-Admin-Token (default dev-admin-token)\n"
               "  -json FILE           also write the report as JSON\n"
               "order lifecycle, after every accepted request is final (either ratio turns it on):\n"
               "  -pay-ratio F         fraction of the winners who pay, each at a random time before its deadline\n"
               "  -cancel-ratio F      fraction of the winners who cancel; the rest leave the order to expire\n"
               "  -webhook-secret S    key the payments are signed with: the server's PAYMENT_WEBHOOK_SECRET\n"
               "                       (default dev-webhook-secret, as in etc/*.properties)\n"
               "  Moves are spread up to each order's payment deadline, so the run lasts about the server's\n"
               "  payment timeout (900 s by default), which the tool cannot set: start the server with a short\n"
               "  one, e.g. ORDER_PAYMENT_TIMEOUT_SEC=5 ORDER_EXPIRY_SCAN_MS=100. After the last deadline,\n"
               "  -wait bounds the wait for every order to be final with its stock back. Then every buyer\n"
               "  whose order was cancelled buys once more and cancels that order too. The product must have\n"
               "  no awaiting orders, stock returns or requests in flight before the run (-create-stock).\n";
  std::exit(2);
}

double number(std::string_view flag, const char* text, double min, double max) {
  char* end = nullptr;
  double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || value < min || value > max) {
    usage(std::string(flag) + ": expected a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("");
    if (i + 1 >= argc) usage(std::string(flag) + " needs a value");
    const char* value = argv[++i];
    if (flag == "-addr")
      o.addr = value;
    else if (flag == "-admin-token")
      o.admin_token = value;
    else if (flag == "-product")
      o.product = static_cast<std::int64_t>(number(flag, value, 1, 1e15));
    else if (flag == "-create-stock")
      o.create_stock = static_cast<std::int64_t>(number(flag, value, 1, 1e9));
    else if (flag == "-stock-shards")
      o.stock_shards = static_cast<std::int64_t>(number(flag, value, 1, 64));
    else if (flag == "-users")
      o.users = static_cast<std::int64_t>(number(flag, value, 1, 1e8));
    else if (flag == "-c")
      o.concurrency = static_cast<int>(number(flag, value, 1, 4096));
    else if (flag == "-dup-ratio")
      o.dup_ratio = number(flag, value, 0, 1);
    else if (flag == "-retry-ratio")
      o.retry_ratio = number(flag, value, 0, 1);
    else if (flag == "-duration")
      o.duration_sec = number(flag, value, 0, 86400);
    else if (flag == "-requests")
      o.requests = static_cast<std::int64_t>(number(flag, value, 1, 1e10));
    else if (flag == "-wait")
      o.wait_sec = number(flag, value, 0, 86400);
    else if (flag == "-rate")
      o.rate = number(flag, value, 0, 1e7);
    else if (flag == "-pay-ratio") {
      o.pay_ratio = number(flag, value, 0, 1);
      o.lifecycle = true;
    } else if (flag == "-cancel-ratio") {
      o.cancel_ratio = number(flag, value, 0, 1);
      o.lifecycle = true;
    } else if (flag == "-webhook-secret")
      o.webhook_secret = value;
    else if (flag == "-json")
      o.json_file = value;
    else
      usage("unknown flag " + std::string(flag));
  }
  if (o.product == 0 && o.create_stock == 0) usage("give -product or -create-stock");
  if (o.stock_shards != 1 && o.create_stock == 0) usage("-stock-shards needs -create-stock");
  if (o.pay_ratio + o.cancel_ratio > 1) usage("-pay-ratio + -cancel-ratio must not exceed 1");
  auto colon = o.addr.rfind(':');
  if (colon == std::string::npos || colon + 1 == o.addr.size() || o.addr.size() - colon > 6 ||
      o.addr.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    usage("-addr must be host:port");
  }
  return o;
}

std::pair<std::string, int> host_port(const std::string& addr) {
  auto colon = addr.rfind(':');
  return {addr.substr(0, colon), std::stoi(addr.substr(colon + 1))};
}

}  // namespace flashsale::loadtest
