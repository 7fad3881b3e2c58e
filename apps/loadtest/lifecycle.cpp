#include "lifecycle.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include "api_client.h"
#include "http/payment_signature.h"

namespace flashsale::loadtest {

namespace {

using client::HttpClient;
using client::HttpReply;

// A request without an answer, or answered 5xx, is sent again, as a payment
// provider retries its webhooks: every request here is idempotent (a payment
// keeps its payment_id, a buy its idempotency key).
constexpr int kAttempts = 4;
constexpr std::chrono::milliseconds kPollInterval{50};

struct Server {
  std::string host;
  int port = 0;
  std::int64_t product = 0;
  std::string admin_token;
};

void sleep_until_ms(UnixMillis at) {
  std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::milliseconds(at)));
}

HttpReply send(HttpClient& client, const std::string& method, const std::string& path, const std::string& body,
               const std::map<std::string, std::string>& headers = {}) {
  HttpReply reply;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    try {
      reply = client.request(method, path, body, headers);
    } catch (const std::exception&) {
      reply = HttpReply();  // the next request rebuilds the connection
    }
    if (reply.status != 0 && reply.status < 500) break;
  }
  return reply;
}

std::string error_reason(const HttpReply& reply) {
  if (reply.json.isNull() || !reply.json->has("error")) return {};
  return reply.json->getObject("error")->optValue<std::string>("reason", "");
}

OrderView read_order(HttpClient& client, std::int64_t order_id) {
  HttpReply reply = send(client, "GET", "/api/orders/" + std::to_string(order_id), "");
  OrderView view;
  if (reply.status != 200 || reply.json.isNull()) return view;
  view.found = true;
  view.status = reply.str("status");
  view.reason = reply.str("reason");
  view.payment_id = reply.str("payment_id");
  view.stock_returned = reply.json->optValue<bool>("stock_returned", false);
  view.user = reply.num("user_id");
  view.quantity = reply.num("quantity");
  view.amount = reply.num("amount");
  parse_rfc3339(reply.str("payment_deadline"), &view.deadline_ms);
  parse_rfc3339(reply.str("paid_time"), &view.paid_ms);
  parse_rfc3339(reply.str("cancelled_time"), &view.cancelled_ms);
  return view;
}

Answer answer_of(const HttpReply& reply, UnixMillis sent_ms) {
  Answer answer;
  answer.status = reply.status;
  answer.sent_ms = sent_ms;
  if (reply.status == 200) {
    answer.reason = reply.str("reason");
  } else {
    answer.code = reply.error_code();
    answer.reason = error_reason(reply);
  }
  return answer;
}

Answer pay(HttpClient& client, const LifecycleOrder& order, const std::string& secret) {
  std::string body = R"({"payment_id":"lt-pay-)" + std::to_string(order.order_id) + R"(","amount":)" +
                     std::to_string(order.first.amount) + "}";
  UnixMillis sent = now_ms();
  return answer_of(send(client, "POST", "/api/orders/" + std::to_string(order.order_id) + "/pay", body,
                        {{"X-Payment-Signature", payment_signature(secret, body)}}),
                   sent);
}

Answer cancel(HttpClient& client, const LifecycleOrder& order) {
  UnixMillis sent = now_ms();
  return answer_of(send(client, "POST", "/api/orders/" + std::to_string(order.order_id) + "/cancel",
                        R"({"user_id":)" + std::to_string(order.user) + "}"),
                   sent);
}

// fn(client, i) for i in [0, count) over `threads` connections. A worker
// that throws loses its item, not the run.
template <typename Fn>
void parallel_for(const Server& server, std::size_t count, int threads, Fn fn) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads && static_cast<std::size_t>(t) < count; ++t) {
    pool.emplace_back([&] {
      HttpClient client(server.host, server.port);
      for (std::size_t i = next++; i < count; i = next++) {
        try {
          fn(client, i);
        } catch (const std::exception& e) {
          std::cerr << "flashsale-loadtest: " << e.what() << "\n";
        }
      }
    });
  }
  for (auto& thread : pool) thread.join();
}

// The winners' orders in the order they were accepted, a share of them to
// pay and a share to cancel, picked at random.
std::vector<LifecycleOrder> plan_orders(const Options& options, const RunState& state, std::mt19937_64* random) {
  std::vector<LifecycleOrder> orders;
  for (const Accepted& accepted : state.accepted) {
    auto it = state.final_order.find(accepted.request_id);
    if (it == state.final_order.end()) continue;
    LifecycleOrder order;
    order.order_id = it->second;
    order.request_id = accepted.request_id;
    order.user = accepted.user;
    orders.push_back(std::move(order));
  }
  std::vector<std::size_t> picks(orders.size());
  std::iota(picks.begin(), picks.end(), 0);
  std::shuffle(picks.begin(), picks.end(), *random);
  auto share = [&](double ratio) { return static_cast<std::size_t>(std::llround(ratio * picks.size())); };
  std::size_t pays = share(options.pay_ratio);
  std::size_t cancels = std::min(picks.size() - pays, share(options.cancel_ratio));
  for (std::size_t i = 0; i < picks.size(); ++i) {
    orders[picks[i]].plan = i < pays ? Plan::pay : i < pays + cancels ? Plan::cancel : Plan::leave;
  }
  return orders;
}

// Every pay and cancel at a random time between now and its order's
// deadline, uniformly, so some land just before it (and may lose to the
// expiry); a deadline already past gets its move at once.
void act(const Options& options, const Server& server, std::vector<LifecycleOrder>* orders, std::mt19937_64* random) {
  struct Move {
    UnixMillis at;
    LifecycleOrder* order;
  };
  std::vector<Move> moves;
  UnixMillis now = now_ms();
  for (auto& order : *orders) {
    if (order.plan == Plan::leave || !order.first.found) continue;
    UnixMillis deadline = order.first.deadline_ms;
    UnixMillis at = deadline > now ? std::uniform_int_distribution<UnixMillis>(now, deadline - 1)(*random) : now;
    moves.push_back({at, &order});
  }
  std::sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.at < b.at; });
  parallel_for(server, moves.size(), std::clamp(options.concurrency, 1, 32), [&](HttpClient& client, std::size_t i) {
    sleep_until_ms(moves[i].at);
    LifecycleOrder& order = *moves[i].order;
    order.action = order.plan == Plan::pay ? pay(client, order, options.webhook_secret) : cancel(client, order);
  });
}

bool final_with_stock_back(const OrderView& view) {
  return view.found && view.status != "awaiting_payment" && (view.status != "cancelled" || view.stock_returned);
}

// Reads the orders until none awaits payment and every cancelled one has its
// stock back, then the reconciliation until no return is pending and nothing
// is in flight. False if `until` came first; *totals is the last reading.
bool settle(HttpClient& client, const Server& server, std::vector<LifecycleOrder*> open, UnixMillis until,
            Reconciliation* totals) {
  for (;;) {
    std::vector<LifecycleOrder*> still_open;
    UnixMillis now = now_ms();
    UnixMillis wake = now + kPollInterval.count();
    UnixMillis earliest_change = std::numeric_limits<UnixMillis>::max();
    for (LifecycleOrder* order : open) {
      order->last = read_order(client, order->order_id);
      if (final_with_stock_back(order->last)) continue;
      still_open.push_back(order);
      // Every move is made: an order awaiting payment can only change at its deadline.
      bool waits = order->last.status == "awaiting_payment" && order->last.deadline_ms > now;
      earliest_change = std::min(earliest_change, waits ? order->last.deadline_ms : now);
    }
    open = std::move(still_open);
    *totals = read_reconciliation(client, server.product, server.admin_token);
    if (open.empty() && totals->ok && totals->returns_pending == 0 && totals->in_flight == 0) return true;
    if (now_ms() >= until) return false;
    if (!open.empty()) wake = std::max(wake, earliest_change);
    sleep_until_ms(std::min(wake, until));
  }
}

std::vector<LifecycleOrder*> pointers(std::vector<LifecycleOrder>* orders, std::size_t from) {
  std::vector<LifecycleOrder*> out;
  for (std::size_t i = from; i < orders->size(); ++i) out.push_back(&(*orders)[i]);
  return out;
}

// A cancelled order's buyer buys again (a fresh idempotency key: the first
// one still names the cancelled request), waits for the order, and cancels it.
void buy_again(HttpClient& client, const Server& server, UnixMillis until, Rebuy* rebuy, LifecycleOrder* order) {
  std::string body = R"({"product_id":)" + std::to_string(server.product) + R"(,"user_id":)" +
                     std::to_string(rebuy->user) + R"(,"quantity":1})";
  HttpReply bought = send(client, "POST", "/api/flash_sale/buy", body,
                          {{"X-Idempotency-Key", "lt-" + std::to_string(rebuy->user) + "-rebuy"}});
  rebuy->status = bought.status;
  if (bought.status != 202) {
    rebuy->code = bought.error_code();
    return;
  }
  rebuy->request_id = bought.str("request_id");
  for (;;) {
    HttpReply result = send(client, "GET", "/api/flash_sale/result/" + rebuy->request_id, "");
    std::string status = result.status == 200 ? result.str("status") : "";
    if (status == "success" || status == "failed") {
      rebuy->final_status = status;
      rebuy->final_reason = result.str("reason");
      order->order_id = status == "success" ? result.num("order_id") : 0;
      break;
    }
    if (now_ms() >= until) return;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (order->order_id <= 0) return;
  order->request_id = rebuy->request_id;
  order->user = rebuy->user;
  order->plan = Plan::rebuy;
  order->first = read_order(client, order->order_id);
  order->action = cancel(client, *order);
}

// Every buyer whose order was cancelled buys once more, in rounds no larger
// than the stock the admit stage holds (nobody else buys: each round's
// buyers must all get an order), each round settled before the next.
void rebuy_all(const Options& options, const Server& server, UnixMillis until, LifecycleRun* run) {
  std::vector<std::int64_t> users;
  for (std::size_t i = 0; i < run->winners; ++i) {
    if (run->orders[i].last.status == "cancelled") users.push_back(run->orders[i].user);
  }
  HttpClient client(server.host, server.port);
  std::int64_t available = run->settled.admit_remaining;
  std::size_t done = 0;
  while (done < users.size() && available > 0 && now_ms() < until) {
    std::size_t round = std::min(users.size() - done, static_cast<std::size_t>(available));
    std::vector<Rebuy> rebuys(round);
    std::vector<LifecycleOrder> orders(round);
    parallel_for(server, round, std::clamp(options.concurrency, 1, 32), [&](HttpClient& c, std::size_t i) {
      rebuys[i].user = users[done + i];
      buy_again(c, server, until, &rebuys[i], &orders[i]);
    });
    done += round;
    std::size_t first_new = run->orders.size();
    run->rebuys.insert(run->rebuys.end(), rebuys.begin(), rebuys.end());
    for (auto& order : orders) {
      if (order.order_id > 0) run->orders.push_back(std::move(order));
    }
    if (!settle(client, server, pointers(&run->orders, first_new), until, &run->end)) break;
    available = run->end.admit_remaining;
  }
  if (available <= 0) run->rebuys_without_stock = static_cast<std::int64_t>(users.size() - done);
  run->rebuys_not_tried = static_cast<std::int64_t>(users.size() - done) - run->rebuys_without_stock;
}

}  // namespace

LifecycleRun run_lifecycle(const Options& options, std::int64_t product, const RunState& state, std::uint64_t seed) {
  LifecycleRun run;
  if (state.final_status.size() != state.accepted.size()) {
    run.skipped = "not every accepted request became final";
    return run;
  }
  run.ran = true;
  auto start = std::chrono::steady_clock::now();
  auto [host, port] = host_port(options.addr);
  Server server{host, port, product, options.admin_token};
  auto wait_ms = static_cast<UnixMillis>(options.wait_sec * 1000);
  std::mt19937_64 random(seed);

  run.orders = plan_orders(options, state, &random);
  run.winners = run.orders.size();
  parallel_for(
      server, run.orders.size(), std::clamp(options.concurrency, 1, 32),
      [&](HttpClient& client, std::size_t i) { run.orders[i].first = read_order(client, run.orders[i].order_id); });
  UnixMillis last_deadline = now_ms();
  for (const auto& order : run.orders) last_deadline = std::max(last_deadline, order.first.deadline_ms);
  std::cout << "lifecycle: " << run.orders.size() << " orders; paying and cancelling until the last deadline, in "
            << (last_deadline - now_ms()) / 1000.0 << " s" << std::endl;
  act(options, server, &run.orders, &random);

  HttpClient client(host, port);
  run.settled_in_time =
      settle(client, server, pointers(&run.orders, 0), std::max(last_deadline, now_ms()) + wait_ms, &run.settled);
  for (auto& order : run.orders) order.settled = order.last;
  run.end = run.settled;
  if (run.settled_in_time) {
    std::cout << "lifecycle: every order final, stock back; buyers of cancelled orders buy again" << std::endl;
    UnixMillis until = now_ms() + wait_ms;
    rebuy_all(options, server, until, &run);
    // The last word on every order, the winners' included: nothing final may move again.
    settle(client, server, pointers(&run.orders, 0), until, &run.end);
  }
  for (std::size_t i = 0; i < run.winners; ++i) {
    HttpReply result = send(client, "GET", "/api/flash_sale/result/" + run.orders[i].request_id, "");
    run.orders[i].result_order_status = result.str("order_status");
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace flashsale::loadtest
