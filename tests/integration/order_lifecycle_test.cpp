// The order lifecycle over HTTP on the embedded profile: pay (a signed
// webhook), cancel, expiry after the deadline, stock back exactly once and
// the buyer free to buy again, including across a crash between a cancel and
// its stock return.
#include <catch2/catch.hpp>

#include <thread>

#include "flashsale/clock.h"
#include "integration/sale_fixture.h"
#include "http/payment_signature.h"

using namespace flashsale::test;

namespace {

constexpr long long kPrice = 399900;  // create_product's sale_price

void check_error(const HttpReply& reply, int status, const std::string& code) {
  INFO(reply.body);
  CHECK(reply.status == status);
  CHECK(reply.error_code() == code);
}

}  // namespace

TEST_CASE("an order awaits payment and a signed payment pays it once", "[e2e][orders]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 3);
  preload(client, product);
  long long order = order_of(client, product, 1);
  std::string path = "/api/orders/" + std::to_string(order);

  HttpReply got = client.get(path);
  INFO(got.body);
  REQUIRE(got.status == 200);
  CHECK(got.str("status") == "awaiting_payment");
  CHECK(got.num("amount") == kPrice);
  CHECK(got.num("user_id") == 1);
  flashsale::UnixMillis created = 0, deadline = 0;
  REQUIRE(flashsale::parse_rfc3339(got.str("created_time"), &created));
  REQUIRE(flashsale::parse_rfc3339(got.str("payment_deadline"), &deadline));
  CHECK(deadline - created == 900 * 1000);  // order.payment.timeout.sec's default

  // Refused before anything is read: no signature, a wrong one, another key.
  std::string body = R"({"payment_id":"pay-1","amount":)" + std::to_string(kPrice) + "}";
  check_error(client.post(path + "/pay", body), 401, "invalid_signature");
  check_error(client.post(path + "/pay", body, {{"X-Payment-Signature", "sha256=00"}}), 401, "invalid_signature");
  check_error(pay(client, order, "pay-1", kPrice, "another-secret"), 401, "invalid_signature");
  check_error(pay(client, order, "pay-1", kPrice - 1), 422, "amount_mismatch");
  CHECK(client.get(path).str("status") == "awaiting_payment");

  HttpReply paid = pay(client, order, "pay-1", kPrice);
  INFO(paid.body);
  CHECK(paid.status == 200);
  CHECK(paid.str("status") == "paid");
  CHECK(paid.str("payment_id") == "pay-1");
  HttpReply replay = pay(client, order, "pay-1", kPrice);
  CHECK(replay.status == 200);
  CHECK(replay.str("paid_time") == paid.str("paid_time"));
  HttpReply other = pay(client, order, "pay-2", kPrice);
  check_error(other, 409, "already_paid");
  CHECK(other.json->getObject("order")->getValue<std::string>("payment_id") == "pay-1");
  check_error(cancel(client, order, 1), 409, "already_paid");

  HttpReply result = client.get("/api/flash_sale/result/" + got.str("request_id"));
  CHECK(result.str("order_status") == "paid");
  HttpReply totals = reconcile(client, product);
  CHECK(totals.num("orders_paid") == 1);
  CHECK(totals.json->getValue<bool>("reconciled"));
}

TEST_CASE("a cancel returns the stock at once and the buyer may buy again", "[e2e][orders]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  long long product = create_product(client, 1);
  preload(client, product);
  long long order = order_of(client, product, 7);
  CHECK(remaining(client, product) == 0);
  check_error(client.post("/api/flash_sale/buy", buy_body(product, 8)), 409, "sold_out");

  check_error(cancel(client, order, 8), 404, "not_found");  // someone else's order reveals nothing
  HttpReply cancelled = cancel(client, order, 7);
  INFO(cancelled.body);
  CHECK(cancelled.status == 200);
  CHECK(cancelled.str("status") == "cancelled");
  CHECK(cancelled.str("reason") == "user_cancelled");
  CHECK(cancelled.json->getValue<bool>("stock_returned"));
  CHECK(cancel(client, order, 7).status == 200);
  CHECK(remaining(client, product) == 1);

  HttpReply late = pay(client, order, "late", kPrice);
  check_error(late, 409, "order_cancelled");
  CHECK(late.json->getObject("error")->getValue<std::string>("reason") == "user_cancelled");

  long long again = order_of(client, product, 7);
  CHECK(again != order);
  CHECK(remaining(client, product) == 0);
  HttpReply totals = reconcile(client, product);
  CHECK(totals.num("orders_cancelled") == 1);
  CHECK(totals.num("orders_awaiting_payment") == 1);
  CHECK(totals.num("stock_returns_pending") == 0);
  CHECK(totals.json->getValue<bool>("reconciled"));
}

TEST_CASE("an unpaid order is cancelled after its deadline and its stock comes back", "[e2e][orders]") {
  EmbeddedServer server(std::map<std::string, std::string>{{"ORDER_PAYMENT_TIMEOUT_SEC", "1"}, {"ORDER_EXPIRY_SCAN_MS", "50"}});
  HttpClient client(server.port());
  long long product = create_product(client, 2);
  preload(client, product);
  long long unpaid = order_of(client, product, 1);
  long long paid = order_of(client, product, 2);
  REQUIRE(pay(client, paid, "p", kPrice).status == 200);

  HttpReply expired = await_order_status(client, unpaid, "cancelled");
  INFO(expired.body);
  CHECK(expired.str("reason") == "payment_timeout");
  flashsale::UnixMillis deadline = 0, cancelled_at = 0;
  REQUIRE(flashsale::parse_rfc3339(expired.str("payment_deadline"), &deadline));
  REQUIRE(flashsale::parse_rfc3339(expired.str("cancelled_time"), &cancelled_at));
  CHECK(cancelled_at >= deadline);
  CHECK(stock_back(await_stock_back(client, unpaid)));
  CHECK(remaining(client, product) == 1);
  CHECK(client.get("/api/orders/" + std::to_string(paid)).str("status") == "paid");
  check_error(pay(client, unpaid, "too-late", kPrice), 409, "order_cancelled");
  CHECK(order_of(client, product, 1) != unpaid);
  CHECK(reconcile(client, product).json->getValue<bool>("reconciled"));
}

TEST_CASE("order endpoints answer bad input with clear errors", "[e2e][orders][api]") {
  EmbeddedServer server;
  HttpClient client(server.port());
  check_error(client.get("/api/orders/abc"), 404, "not_found");
  check_error(client.get("/api/orders/999999"), 404, "not_found");
  check_error(pay(client, 999999, "p", 1), 404, "not_found");
  check_error(cancel(client, 999999, 1), 404, "not_found");
  check_error(client.post("/api/orders/1/cancel", "{}"), 400, "invalid_request");
  check_error(client.post("/api/orders/1/cancel", R"({"user_id":0})"), 400, "invalid_request");
  std::string no_amount = R"({"payment_id":"p"})";
  check_error(client.post("/api/orders/1/pay", no_amount,
                          {{"X-Payment-Signature", flashsale::payment_signature(kWebhookSecret, no_amount)}}),
              400, "invalid_request");
  std::string long_id = R"({"payment_id":")" + std::string(129, 'x') + R"(","amount":1})";
  check_error(client.post("/api/orders/1/pay", long_id,
                          {{"X-Payment-Signature", flashsale::payment_signature(kWebhookSecret, long_id)}}),
              400, "invalid_request");
  check_error(client.get("/api/orders/1/pay"), 405, "method_not_allowed");
}

TEST_CASE("without a webhook secret every payment is refused", "[e2e][orders]") {
  EmbeddedServer server(std::map<std::string, std::string>{{"PAYMENT_WEBHOOK_SECRET", ""}});
  HttpClient client(server.port());
  check_error(pay(client, 1, "p", 1, ""), 503, "payments_disabled");
}

TEST_CASE("a crash between a cancel and its stock return returns the stock once after the restart", "[e2e][orders]") {
  TempDir dir;
  long long product = 0, order = 0;
  {
    EmbeddedServer server(std::map<std::string, std::string>{{"FAULT_CRASH_BEFORE_STOCK_RETURN", "1"}}, &dir);
    HttpClient client(server.port());
    product = create_product(client, 2);
    preload(client, product);
    order = order_of(client, product, 5);
    order_of(client, product, 6);
    CHECK_THROWS(cancel(client, order, 5));  // the process exits before the return: no answer
    CHECK(server.stop() == 86);
  }
  EmbeddedServer server({}, &dir);
  HttpClient client(server.port());
  // The memory admit stage starts empty: the restarted expiry worker's
  // return finds no stock, so it stays pending, and the preload, right away,
  // counts its unit as held (initial - active - returns pending = 0). Once
  // stock is loaded the worker hands the return over again: the unit comes
  // back once, whenever the preload ran.
  preload(client, product);
  HttpReply back = await_stock_back(client, order);
  INFO(back.body);
  CHECK(stock_back(back));
  CHECK(remaining(client, product) == 1);  // the one returned unit, once
  HttpReply totals = reconcile(client, product);
  CHECK(totals.num("stock_returns_pending") == 0);
  CHECK(totals.json->getValue<bool>("reconciled"));
  long long again = order_of(client, product, 5);
  CHECK(again != order);
  check_error(client.post("/api/flash_sale/buy", buy_body(product, 9)), 409, "sold_out");
}
