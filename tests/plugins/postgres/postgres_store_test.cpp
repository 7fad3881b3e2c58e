// The persist stage of the postgres family against a real server: the
// schema laid out once by stores opening at once, two stores (two consumer
// processes) racing over overlapping batches while orders are cancelled,
// a constraint the family does not expect, a deadlock it is the victim of,
// and a statement that runs past its timeout. The conformance suite
// (postgres:conformance:persist) checks the rest of the contract; the
// server stopped and started mid-run is postgres_outage_test.cpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "flashsale/clock.h"
#include "postgres_test_support.h"
#include "support/redis_server.h"  // free_loopback_port

namespace flashsale::test {
namespace {

std::vector<PersistResult> persist(OrderStore& store, const std::vector<OrderEvent>& events) {
  std::vector<PersistResult> results;
  Status status = store.persist(events, kPaymentTimeoutMs, &results);
  INFO(code_name(status.code()) << ": " << status.message());
  REQUIRE(status.is_ok());
  REQUIRE(results.size() == events.size());
  return results;
}

}  // namespace

TEST_CASE("postgres store: stores opening at once apply the migrations once", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresPlugin plugin;
  constexpr int kOpeners = 6;
  std::vector<std::unique_ptr<Backend>> backends(kOpeners);
  std::vector<std::unique_ptr<OrderStore>> stores(kOpeners);
  std::vector<std::string> errors(kOpeners);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      backends[i] = plugin.make_backend(dsn, {}, &errors[i]);
      if (backends[i] != nullptr) stores[i].reset(backends[i]->make_order_store(&errors[i]));
    });
  }
  go = true;
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kOpeners; ++i) {
    INFO("opener " << i << ": " << errors[i]);
    CHECK(stores[i] != nullptr);
  }

  SideConnection side(dsn);
  CHECK(side.number("SELECT count(*) FROM schema_version") == 4);
  CHECK(side.number("SELECT max(version) FROM schema_version") == 4);
  std::string applied = side.text("SELECT max(applied_ms) FROM schema_version");
  create_test_products(dsn);
  // Every store works on the one schema.
  for (int i = 0; i < kOpeners; ++i) {
    if (stores[i] != nullptr) persist(*stores[i], {order_event("r" + std::to_string(i), i, 7)});
  }
  CHECK(side.number("SELECT count(*) FROM orders") == kOpeners);
  // Opened again later, nothing is applied again.
  PostgresStore again(dsn);
  CHECK(side.number("SELECT count(*) FROM schema_version") == 4);
  CHECK(side.text("SELECT max(applied_ms) FROM schema_version") == applied);
}

TEST_CASE("postgres store: a database of a newer schema version is refused naming postgres.dsn", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  { PostgresStore first(dsn); }
  SideConnection side(dsn);
  side.exec("INSERT INTO schema_version VALUES (99, 'from the future', 0)");
  PostgresPlugin plugin;
  std::string error;
  CHECK(plugin.make_backend(dsn, {}, &error) == nullptr);
  CHECK_THAT(error, Catch::Contains("postgres.dsn (POSTGRES_DSN)") && Catch::Contains("schema version 99"));
}

TEST_CASE("postgres store: migration 4 gives the products already there one stock shard", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  { PostgresStore first(dsn); }
  SideConnection side(dsn);
  // Back to version 3's products, with a product in it.
  side.exec("ALTER TABLE products DROP COLUMN stock_shards");
  side.exec("DELETE FROM schema_version WHERE version = 4");
  side.exec("TRUNCATE products CASCADE");
  side.exec(
      "INSERT INTO products (id, name, stock, sale_price, start_ms, end_ms, created_ms) OVERRIDING SYSTEM VALUE"
      " VALUES (1, 'before shards', 10, 100, 0, 4102444800000, 0)");
  PostgresStore store(dsn);
  CHECK(side.number("SELECT max(version) FROM schema_version") == 4);
  Product found;
  REQUIRE(store.store->find_product(1, &found).is_ok());
  CHECK(found.name == "before shards");
  CHECK(found.stock_shards == 1);
}

TEST_CASE("postgres store: an unreachable database is refused at start naming postgres.dsn", "[postgres]") {
  PostgresPlugin plugin;
  std::string error;
  int closed_port = free_loopback_port();
  CHECK(plugin.make_backend("postgresql://flashsale@127.0.0.1:" + std::to_string(closed_port) + "/postgres", {},
                            &error) == nullptr);
  CHECK_THAT(error, Catch::Contains("postgres.dsn (POSTGRES_DSN): cannot use the database"));
  CHECK(plugin.make_backend(shared_server().dsn(), {{"postgres.pool.size", "0"}}, &error) == nullptr);
  CHECK_THAT(error, Catch::Contains("postgres.pool.size"));
}

TEST_CASE("postgres store: two stores racing over overlapping batches agree on every request", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  // Two stores with pools of their own: two consumer processes on one database.
  PostgresStore a(dsn), b(dsn);
  constexpr ProductId kProduct = 7;
  constexpr int kUsers = 40;
  constexpr int kRequestsPerUser = 3;  // all for the same product: they conflict
  std::vector<OrderEvent> events;
  for (int user = 0; user < kUsers; ++user) {
    for (int n = 0; n < kRequestsPerUser; ++n) {
      events.push_back(
          order_event("u" + std::to_string(user) + "-r" + std::to_string(n), 1000 + user, kProduct, 1 + n));
    }
  }

  // Threads record what they were told; the checks run on this thread.
  struct Delivery {
    std::string request_id;
    PersistResult result;
  };
  std::mutex mutex;
  std::vector<Delivery> deliveries;
  std::vector<std::string> errors;
  std::atomic<int> persisters_left{4};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    OrderStore& store = t % 2 == 0 ? *a.store : *b.store;
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t) * 7919u);
      while (!go) std::this_thread::yield();
      for (int round = 0; round < 30; ++round) {
        // A redelivery-heavy batch: random events, some twice.
        std::vector<OrderEvent> batch;
        for (int i = 0; i < 16; ++i) batch.push_back(events[random() % events.size()]);
        std::vector<PersistResult> results;
        Status status = store.persist(batch, kPaymentTimeoutMs, &results);
        std::lock_guard lock(mutex);
        if (!status.is_ok()) {
          errors.push_back(std::string(code_name(status.code())) + ": " + status.message());
          continue;
        }
        for (std::size_t i = 0; i < batch.size(); ++i) deliveries.push_back({batch[i].request_id, results[i]});
      }
      --persisters_left;
    });
  }
  // A buyer cancelling orders meanwhile frees users' products for their
  // other requests, and makes redelivered failures race a free slot.
  threads.emplace_back([&] {
    std::mt19937 random(42);
    while (!go) std::this_thread::yield();
    while (persisters_left > 0) {
      const OrderEvent& e = events[random() % events.size()];
      RequestState state;
      if (!a.store->find_request(e.request_id, &state).is_ok() || state.status != RequestStatus::success) continue;
      Order order;
      Status status = b.store->cancel(state.order_id, e.user_id, &order);
      if (!status.is_ok()) {
        std::lock_guard lock(mutex);
        errors.push_back(std::string("cancel: ") + code_name(status.code()) + ": " + status.message());
      }
    }
  });
  go = true;
  for (std::thread& thread : threads) thread.join();

  INFO("first error: " << (errors.empty() ? "" : errors[0]));
  CHECK(errors.empty());
  REQUIRE(!deliveries.empty());
  // Every delivery of a request got the same answer, and it is what the
  // store says about the request now.
  std::map<std::string, PersistResult> first;
  std::set<OrderId> order_ids;
  for (const Delivery& d : deliveries) {
    auto [it, fresh] = first.emplace(d.request_id, d.result);
    INFO("request " << d.request_id);
    CHECK(d.result.status == it->second.status);
    CHECK(d.result.reason == it->second.reason);
    CHECK(d.result.order_id == it->second.order_id);
    if (fresh && d.result.status == RequestStatus::success) CHECK(order_ids.insert(d.result.order_id).second);
  }
  for (const auto& [request, result] : first) {
    RequestState state;
    REQUIRE(a.store->find_request(request, &state).is_ok());
    CHECK(state.status == result.status);
    CHECK(state.order_id == result.order_id);
  }

  SideConnection side(dsn);
  CHECK(side.number("SELECT count(*) FROM orders") == static_cast<std::int64_t>(order_ids.size()));
  CHECK(side.number("SELECT count(*) FROM orders JOIN failed_requests USING (request_id)") == 0);
  CHECK(side.number("SELECT count(*) FROM (SELECT user_id FROM orders WHERE status IN (0, 1)"
                    " GROUP BY user_id, product_id HAVING count(*) > 1) AS doubled") == 0);
  CHECK(side.number("SELECT count(*) FROM orders") + side.number("SELECT count(*) FROM failed_requests") ==
        static_cast<std::int64_t>(first.size()));
  // The totals are exactly what the rows add up to.
  ProductSales sales;
  REQUIRE(a.store->sales(kProduct, &sales).is_ok());
  CHECK(sales.orders == side.number("SELECT count(*) FROM orders"));
  CHECK(sales.failed_requests == side.number("SELECT count(*) FROM failed_requests"));
  CHECK(sales.orders_awaiting_payment == side.number("SELECT count(*) FROM orders WHERE status = 0"));
  CHECK(sales.quantity_awaiting_payment ==
        side.number("SELECT coalesce(sum(quantity), 0) FROM orders WHERE status = 0"));
  CHECK(sales.orders_cancelled == side.number("SELECT count(*) FROM orders WHERE status = 2"));
  CHECK(sales.quantity_cancelled == side.number("SELECT coalesce(sum(quantity), 0) FROM orders WHERE status = 2"));
  CHECK(sales.quantity_returns_pending ==
        side.number("SELECT coalesce(sum(quantity), 0) FROM stock_returns JOIN orders ON orders.id = order_id"));
}

TEST_CASE("postgres store: a batch of fresh and settled events leaves the fast path for the careful one",
          "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn);
  OrderId held = persist(*db.store, {order_event("held", 20)})[0].order_id;
  OrderId old = persist(*db.store, {order_event("old", 30)})[0].order_id;
  std::vector<PersistResult> refused = persist(*db.store, {order_event("refused-before", 20)});
  REQUIRE(refused[0].status == RequestStatus::failed);

  // Fresh events (b, a, c1), a redelivered order (old), a redelivered
  // failure, one refused by held, a twice, and c2 after c1 for the same
  // user and product. The insert takes them by user: b first.
  std::vector<OrderEvent> batch{order_event("c1", 3),
                                order_event("old", 30),
                                order_event("b", 1),
                                order_event("a", 2),
                                order_event("refused-before", 20),
                                order_event("new-refused", 20),
                                order_event("a", 2),
                                order_event("c2", 3)};
  SideConnection side(dsn), watcher(dsn);
  // An uncommitted order for b holds the fast path's insert at b.
  side.exec("BEGIN");
  side.exec(
      "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms,"
      " deadline_ms) VALUES ('b', 1, 7, 1, 1, 1, 0, 0, 0)");
  std::vector<PersistResult> results;
  Status status;
  std::thread persister([&] { status = db.store->persist(batch, kPaymentTimeoutMs, &results); });
  std::string waiting_at;
  bool waited = eventually([&] {
    waiting_at = watcher.text(
        "SELECT coalesce(max(query), '') FROM pg_stat_activity WHERE application_name = 'flashsale'"
        " AND wait_event_type = 'Lock' AND datname = current_database()");
    return !waiting_at.empty();
  });
  side.exec("ROLLBACK");
  persister.join();
  REQUIRE(waited);
  CHECK_THAT(waiting_at, Catch::Contains("INSERT INTO orders") && !Catch::Contains("ON CONFLICT"));
  INFO(status.message());
  REQUIRE(status.is_ok());

  // What the careful path answers each event, one at a time in batch order.
  auto order_of = [&](const std::string& request) {
    return side.number("SELECT id FROM orders WHERE request_id = '" + request + "'");
  };
  auto check_outcomes = [&](const std::vector<PersistResult>& got) {
    REQUIRE(got.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      INFO("event " << i << ": " << batch[i].request_id);
      const std::string& request = batch[i].request_id;
      bool refused_now = request == "refused-before" || request == "new-refused" || request == "c2";
      CHECK(got[i].status == (refused_now ? RequestStatus::failed : RequestStatus::success));
      if (refused_now) {
        CHECK(got[i].reason == "already_purchased");
      } else {
        CHECK(got[i].order_id == order_of(request));
      }
    }
  };
  check_outcomes(results);
  CHECK(results[1].order_id == old);
  CHECK(results[3].order_id == results[6].order_id);
  CHECK(side.number("SELECT count(*) FROM orders") == 5);  // held, old, a, b, c1, and nothing twice
  CHECK(side.number("SELECT count(*) FROM failed_requests") == 3);
  CHECK(side.number("SELECT count(*) FROM orders WHERE id = " + std::to_string(held)) == 1);

  // Redelivered whole, the batch answers the same and changes nothing.
  check_outcomes(persist(*db.store, batch));
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 5);
  CHECK(sales.failed_requests == 3);
  CHECK(sales.orders_awaiting_payment == 5);
  CHECK(sales.quantity_awaiting_payment == 5);
}

TEST_CASE("postgres store: request ids with quotes and backslashes reach the database as sent", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn);
  std::vector<OrderEvent> batch{order_event("say \"hi\", {now}", 1), order_event("C:\\orders\\1", 2),
                                order_event("plain", 3)};
  std::vector<PersistResult> fresh = persist(*db.store, batch);  // the fast path
  std::vector<PersistResult> again = persist(*db.store, batch);  // redelivered: the careful path
  SideConnection side(dsn);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    INFO(batch[i].request_id);
    REQUIRE(fresh[i].status == RequestStatus::success);
    CHECK(again[i].order_id == fresh[i].order_id);
    CHECK(side.text("SELECT request_id FROM orders WHERE id = " + std::to_string(fresh[i].order_id)) ==
          batch[i].request_id);
  }
}

TEST_CASE("postgres store: an unexpected constraint violation is an internal error naming it", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn);
  SideConnection side(dsn);
  side.exec("ALTER TABLE orders ADD CONSTRAINT test_quantity_below_5 CHECK (quantity < 5)");

  std::vector<PersistResult> results;
  Status status =
      db.store->persist({order_event("fits", 1, 7, 1), order_event("too-many", 2, 7, 9)}, kPaymentTimeoutMs, &results);
  CHECK(status.code() == Code::internal);
  CHECK_THAT(status.message(), Catch::Contains("postgres persist") && Catch::Contains("test_quantity_below_5") &&
                                   Catch::Contains("23514"));
  // All or nothing, and the store goes on working.
  CHECK(side.number("SELECT count(*) FROM orders") == 0);
  for (int i = 0; i < 6; ++i) persist(*db.store, {order_event("fits-" + std::to_string(i), 10 + i, 7, 1)});
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 6);
}

TEST_CASE("postgres store: a persist chosen as a deadlock victim runs again", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn);
  persist(*db.store, {order_event("first", 1, 7)});  // the product_sales row exists now
  SideConnection side(dsn), watcher(dsn);
  side.exec("BEGIN");
  side.exec("UPDATE product_sales SET orders = orders WHERE product_id = 7");

  // The persist inserts "contested", then waits for the totals row side holds.
  std::vector<PersistResult> results;
  Status status;
  std::thread persister(
      [&] { status = db.store->persist({order_event("contested", 2, 7)}, kPaymentTimeoutMs, &results); });
  bool waiting = eventually([&] {
    return watcher.number(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flashsale'"
               " AND wait_event_type = 'Lock' AND datname = current_database()") == 1;
  });
  // Side now waits for the persist's row: a deadlock. The persist, waiting
  // longer, finds it first and is aborted; side's insert then goes through.
  std::string side_insert = side.try_exec(
      "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms,"
      " deadline_ms) VALUES ('contested', 3, 8, 1, 1, 1, 0, 0, 0)");
  std::string side_commit = side.try_exec("COMMIT");
  persister.join();
  REQUIRE(waiting);
  INFO("side insert: " << side_insert);
  REQUIRE(side_insert.empty());
  CHECK(side_commit.empty());
  // Run again, the persist finds the request persisted (by side) and answers
  // with that order.
  INFO(status.message());
  REQUIRE(status.is_ok());
  CHECK(results[0].status == RequestStatus::success);
  CHECK(results[0].order_id == side.number("SELECT id FROM orders WHERE request_id = 'contested'"));
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 1);  // side's insert is not the store's to count
}

TEST_CASE("postgres store: a persist blocked past the statement timeout is unavailable", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn, {{"postgres.statement.timeout.ms", "300"}});
  persist(*db.store, {order_event("first", 1, 7)});
  SideConnection side(dsn);
  side.exec("BEGIN");
  side.exec("UPDATE product_sales SET orders = orders WHERE product_id = 7");

  std::vector<PersistResult> results;
  auto started = std::chrono::steady_clock::now();
  Status status = db.store->persist({order_event("blocked", 2, 7)}, kPaymentTimeoutMs, &results);
  auto waited = std::chrono::steady_clock::now() - started;
  CHECK(status.code() == Code::unavailable);
  CHECK_THAT(status.message(), Catch::Contains("57014"));
  CHECK(waited < std::chrono::seconds(3));
  side.exec("ROLLBACK");
  CHECK(persist(*db.store, {order_event("blocked", 2, 7)})[0].status == RequestStatus::success);
}

}  // namespace flashsale::test
