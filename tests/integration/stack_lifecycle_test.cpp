// The order lifecycle on the default stack (Redis admit stage, dev broker,
// SQLite): a server killed between a cancel and its stock return, and
// payments racing the expiry on hundreds of orders.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "flashsale/clock.h"
#include "integration/stack_fixture.h"

using namespace flashsale::test;
using flashsale::now_ms;
using flashsale::parse_rfc3339;
using flashsale::UnixMillis;

namespace {

UnixMillis time_of(const HttpReply& order, const std::string& key) {
  UnixMillis ms = 0;
  CHECK(parse_rfc3339(order.str(key), &ms));
  return ms;
}

}  // namespace

TEST_CASE("default stack: a server killed between a cancel and its stock return returns it once after a restart",
          "[e2e][stack][orders]") {
  Stack stack;
  const std::map<std::string, std::string> fast_expiry = {{"ORDER_EXPIRY_SCAN_MS", "100"}};
  long long product = 0, order = 0;
  {
    auto env = fast_expiry;
    env.emplace("FAULT_CRASH_BEFORE_STOCK_RETURN", "1");
    auto doomed = stack.server("api,relay,consumer", env);
    HttpClient client(doomed->port());
    product = create_product(client, 2);
    preload(client, product);
    order = order_of(client, product, 5);
    order_of(client, product, 6);
    CHECK(remaining(client, product) == 0);
    // The cancel is committed, then the process dies before the stock reaches Redis: no answer.
    CHECK_THROWS(cancel(client, order, 5));
    REQUIRE(doomed->stop_when_exited(30000) == 86);
  }

  auto server = stack.server("api,relay,consumer", fast_expiry);
  HttpClient client(server->port());
  HttpReply back = await_stock_back(client, order);  // the restarted expiry worker finishes the return
  INFO(back.body);
  REQUIRE(stock_back(back));
  CHECK(back.str("reason") == "user_cancelled");
  CHECK(remaining(client, product) == 1);  // the one unit, once
  HttpReply before_rebuy = reconcile(client, product);
  INFO(before_rebuy.body);
  CHECK(before_rebuy.num("admit_remaining") == 1);
  CHECK(before_rebuy.num("stock_returns_pending") == 0);
  CHECK(before_rebuy.num("orders_cancelled") == 1);
  CHECK(before_rebuy.num("orders_awaiting_payment") == 1);
  CHECK(before_rebuy.json->getValue<bool>("reconciled"));

  long long again = order_of(client, product, 5);  // the buyer may buy again
  CHECK(again != order);
  CHECK(remaining(client, product) == 0);
  HttpReply late = client.post("/api/flash_sale/buy", buy_body(product, 9));
  INFO(late.body);
  CHECK(late.status == 409);
  CHECK(late.error_code() == "sold_out");
  HttpReply end = reconcile(client, product);
  INFO(end.body);
  CHECK(end.num("admit_remaining") == 0);
  CHECK(end.num("orders_awaiting_payment") == 2);
  CHECK(end.num("orders_cancelled") == 1);
  CHECK(end.json->getValue<bool>("reconciled"));
  CHECK(server->stop() == 0);
}

namespace {

struct RacingPayment {
  long long order = 0;
  long long amount = 0;
  UnixMillis deadline = 0;
  UnixMillis due = 0;  // when to send it
  UnixMillis sent = 0;
  UnixMillis answered = 0;
  int status = 0;  // 0: no answer
  std::string code;
  std::string reason;  // error.reason of a 409
};

// Sends every payment at its due time over `threads` connections.
void pay_when_due(int port, std::vector<RacingPayment>* payments, int threads) {
  std::sort(payments->begin(), payments->end(),
            [](const RacingPayment& a, const RacingPayment& b) { return a.due < b.due; });
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, port] {
      HttpClient client(port);
      for (std::size_t i = next++; i < payments->size(); i = next++) {
        RacingPayment& p = (*payments)[i];
        std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::milliseconds(p.due)));
        p.sent = now_ms();
        try {
          HttpReply reply = pay(client, p.order, "race-" + std::to_string(p.order), p.amount);
          p.answered = now_ms();
          p.status = reply.status;
          p.code = reply.error_code();
          if (reply.status == 409) p.reason = reply.json->getObject("error")->optValue<std::string>("reason", "");
        } catch (const std::exception& e) {
          p.code = e.what();
        }
      }
    });
  }
  for (auto& thread : pool) thread.join();
}

}  // namespace

TEST_CASE("default stack: payments racing the expiry of 300 orders each have exactly one winner",
          "[e2e][stack][orders]") {
  Stack stack;
  auto server =
      stack.server("api,relay,consumer", {{"ORDER_PAYMENT_TIMEOUT_SEC", "2"}, {"ORDER_EXPIRY_SCAN_MS", "50"}});
  HttpClient admin(server->port());
  const long long stock = 300;
  long long product = create_product(admin, stock);
  preload(admin, product);
  StampedeResult run = stampede(server->port(), product, 300, 16);
  REQUIRE(run.accepted.size() == 300);
  auto finals = poll_final(admin, run.accepted, 120000);
  REQUIRE(finals.size() == 300);

  // Each order is paid once while the expiry worker scans every 50 ms: half
  // of them at a time spread from 800 ms before the deadline to 400 ms after
  // it, half within 25 ms of it, where the pay and the expiry meet.
  std::vector<RacingPayment> payments;
  std::mt19937 random(20260101);
  std::uniform_int_distribution<UnixMillis> spread(-800, 400), close(-25, 25);
  for (const auto& [id, result] : finals) {
    INFO(result.body);
    REQUIRE(result.str("status") == "success");
    HttpReply order = admin.get("/api/orders/" + std::to_string(result.num("order_id")));
    REQUIRE(order.status == 200);
    RacingPayment p;
    p.order = order.num("order_id");
    p.amount = order.num("amount");
    p.deadline = time_of(order, "payment_deadline");
    p.due = p.deadline + (payments.size() % 2 == 0 ? spread(random) : close(random));
    payments.push_back(p);
  }
  pay_when_due(server->port(), &payments, 8);

  long long paid = 0, expired = 0, sent_before = 0, sent_after = 0, in_the_race = 0;
  for (const RacingPayment& p : payments) {
    HttpReply end =
        p.status == 200 ? admin.get("/api/orders/" + std::to_string(p.order)) : await_stock_back(admin, p.order);
    INFO("order " << p.order << " pay sent " << p.sent - p.deadline << " ms from its deadline, answered "
                  << p.answered - p.deadline << " ms: " << p.status << " " << p.code << " " << p.reason << "; ends "
                  << end.body);
    (p.sent < p.deadline ? sent_before : sent_after)++;
    if (p.sent < p.deadline && p.answered >= p.deadline) ++in_the_race;
    // Answered before its deadline: nothing could have expired it. Sent after: the pay must lose.
    if (p.answered < p.deadline) CHECK(p.status == 200);
    if (p.sent >= p.deadline) CHECK(p.status == 409);
    if (p.status == 200) {
      ++paid;
      CHECK(end.str("status") == "paid");
      CHECK(end.str("payment_id") == "race-" + std::to_string(p.order));
      CHECK(time_of(end, "paid_time") < p.deadline);
    } else {
      ++expired;
      CHECK(p.status == 409);
      CHECK(p.code == "order_cancelled");
      CHECK(p.reason == "payment_timeout");
      CHECK(stock_back(end));
      CHECK(end.str("reason") == "payment_timeout");
      CHECK(time_of(end, "cancelled_time") >= p.deadline);
    }
  }
  INFO("pays sent before the deadline " << sent_before << ", after " << sent_after << ", answered across it "
                                        << in_the_race);
  CHECK(paid + expired == 300);
  CHECK(paid <= stock);
  CHECK(sent_before > 0);  // the spread reached both sides of the deadline
  CHECK(sent_after > 0);
  CHECK(paid > 0);
  CHECK(expired > 0);

  // Stock: every expired order's unit back in Redis exactly once.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  HttpReply end = reconcile(admin, product);
  while (end.num("stock_returns_pending") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    end = reconcile(admin, product);
  }
  INFO(end.body);
  CHECK(end.num("orders_paid") == paid);
  CHECK(end.num("quantity_paid") == paid);
  CHECK(end.num("orders_cancelled") == expired);
  CHECK(end.num("quantity_cancelled") == expired);
  CHECK(end.num("orders_awaiting_payment") == 0);
  CHECK(end.num("stock_returns_pending") == 0);
  CHECK(end.num("admit_remaining") == stock - paid);
  CHECK(end.json->getValue<bool>("reconciled"));
  CHECK(remaining(admin, product) == stock - paid);
  CHECK(server->stop() == 0);
}

TEST_CASE("default stack: an expirer process alone cancels the unpaid orders of the others", "[e2e][stack][orders]") {
  Stack stack;
  // The api/relay/consumer process scans once an hour: only the expirer's
  // scans can cancel within the test.
  auto server = stack.server("api,relay,consumer",
                             {{"ORDER_PAYMENT_TIMEOUT_SEC", "1"}, {"ORDER_EXPIRY_SCAN_MS", "3600000"}});
  HttpClient client(server->port());
  long long product = create_product(client, 2);
  preload(client, product);
  long long unpaid = order_of(client, product, 1);
  long long paid = order_of(client, product, 2);
  REQUIRE(pay(client, paid, "p-2", 399900).status == 200);

  auto expirer = stack.server("expirer", {{"ORDER_EXPIRY_SCAN_MS", "50"}});
  HttpReply expired = await_stock_back(client, unpaid);
  INFO(expired.body);
  CHECK(stock_back(expired));
  CHECK(expired.str("reason") == "payment_timeout");
  CHECK(remaining(client, product) == 1);
  CHECK(client.get("/api/orders/" + std::to_string(paid)).str("status") == "paid");
  CHECK(reconcile(client, product).json->getValue<bool>("reconciled"));
  CHECK(expirer->stop() == 0);
  CHECK(server->stop() == 0);
}
