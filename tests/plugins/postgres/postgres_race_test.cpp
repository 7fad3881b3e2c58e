// The two races persist_batch.cpp guards against, each set up step by step
// with side connections holding locks, so the interleaving is the same every
// run (the store's backend is seen waiting in pg_stat_activity before the
// next step): a refused request whose blocking order is being cancelled, and
// a request recorded as failed by another process while this batch's insert
// was already under way, on the fast path and on the careful one.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "postgres_test_support.h"

namespace flashsale::test {
namespace {

constexpr ProductId kProduct = 7;  // order_event's

// Runs persist on a thread of its own; join() to read what it said.
struct BackgroundPersist {
  BackgroundPersist(OrderStore& store, std::vector<OrderEvent> events)
      : thread([this, &store, events = std::move(events)] {
          status = store.persist(events, kPaymentTimeoutMs, &results);
        }) {}
  // A failed test still waits for it (at most the statement timeout).
  ~BackgroundPersist() {
    if (thread.joinable()) thread.join();
  }
  void join() {
    thread.join();
    INFO(status.message());
    REQUIRE(status.is_ok());
  }
  Status status;
  std::vector<PersistResult> results;
  std::thread thread;  // last: starts once the rest exists
};

}  // namespace

TEST_CASE("postgres race: a refused request waits for the cancel of the order that refuses it", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn);
  std::vector<PersistResult> results;
  REQUIRE(db.store->persist({order_event("holder", 20)}, kPaymentTimeoutMs, &results).is_ok());
  OrderId holder = results[0].order_id;
  SideConnection canceller(dsn), watcher(dsn);
  // A cancel under way: it holds the order's row.
  canceller.exec("BEGIN");
  canceller.exec("SELECT 1 FROM orders WHERE id = " + std::to_string(holder) + " FOR UPDATE");

  BackgroundPersist second(*db.store, {order_event("second", 20)});
  // Refused by the holder, the persist must lock it before recording the
  // failure: it waits for the cancel to end.
  bool waited = store_waits_for_a_lock(watcher);

  SECTION("the cancel commits: the user's product is free and the request becomes an order") {
    canceller.exec("UPDATE orders SET status = 2, cancel_reason = 'user_cancelled', cancelled_ms = 1 WHERE id = " +
                   std::to_string(holder));
    canceller.exec("COMMIT");
    second.join();
    REQUIRE(waited);
    CHECK(second.results[0].status == RequestStatus::success);
    CHECK(second.results[0].order_id != holder);
    CHECK(watcher.number("SELECT count(*) FROM failed_requests") == 0);
  }
  SECTION("the cancel rolls back: the request fails already_purchased") {
    canceller.exec("ROLLBACK");
    second.join();
    REQUIRE(waited);
    CHECK(second.results[0].status == RequestStatus::failed);
    CHECK(second.results[0].reason == "already_purchased");
    CHECK(watcher.number("SELECT count(*) FROM orders WHERE request_id = 'second'") == 0);
  }
  ProductSales sales;
  REQUIRE(db.store->sales(kProduct, &sales).is_ok());
  CHECK(sales.orders + sales.failed_requests == 2);
}

TEST_CASE("postgres race: a request failed by another process during the insert stays failed", "[postgres]") {
  std::string dsn = fresh_database(shared_server());
  PostgresStore db(dsn);
  std::vector<PersistResult> results;
  REQUIRE(db.store->persist({order_event("holder", 20)}, kPaymentTimeoutMs, &results).is_ok());
  OrderId holder = results[0].order_id;
  REQUIRE(db.store->persist({order_event("early", 5)}, kPaymentTimeoutMs, &results).is_ok());
  SideConnection blocker(dsn), other(dsn), watcher(dsn);
  // An uncommitted order of user 10 makes the batch's insert wait at user
  // 10's row (users 5 and 20 sort around it), after its snapshot was taken.
  blocker.exec("BEGIN");
  blocker.exec(
      "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms,"
      " deadline_ms) VALUES ('blocker', 10, 7, 1, 1, 1, 0, 0, 0)");

  std::vector<OrderEvent> events{order_event("first", 10), order_event("late", 20)};
  std::string guard;
  SECTION("a fresh batch: the fast path's check after its insert sees the failure") {
    guard = "fast path";
  }
  SECTION("with a redelivered event: the careful path's outcome read sees the failure") {
    // The fast path's insert stops at once on early; the careful path's
    // insert is the one that waits.
    events.push_back(order_event("early", 5));
    guard = "careful path";
  }
  INFO(guard);
  BackgroundPersist batch(*db.store, events);
  bool waited = store_waits_for_a_lock(watcher);
  std::string waiting_at = watcher.text(
      "SELECT coalesce(max(query), '') FROM pg_stat_activity WHERE application_name = 'flashsale'"
      " AND wait_event_type = 'Lock' AND datname = current_database()");
  // Meanwhile another process records "late" as failed (refused by holder),
  // and then holder is cancelled: user 20's product is free when the
  // insert reaches "late", and its snapshot does not show the failure.
  other.exec("INSERT INTO failed_requests VALUES ('late', 20, 7, 1, 'already_purchased', 0)");
  other.exec("UPDATE orders SET status = 2 WHERE id = " + std::to_string(holder));
  blocker.exec("ROLLBACK");
  batch.join();
  REQUIRE(waited);
  CHECK((waiting_at.find("ON CONFLICT") != std::string::npos) == (guard == "careful path"));

  CHECK(batch.results[0].status == RequestStatus::success);
  // The insert wrote an order for "late"; the failure, seen after it, stands:
  // the fast path's transaction is aborted whole, the careful path takes the
  // order back. One request, one outcome.
  CHECK(batch.results[1].status == RequestStatus::failed);
  CHECK(batch.results[1].reason == "already_purchased");
  CHECK(watcher.number("SELECT count(*) FROM orders WHERE request_id = 'late'") == 0);
  ProductSales sales;
  REQUIRE(db.store->sales(kProduct, &sales).is_ok());
  CHECK(sales.orders == 3);           // holder, early and first; not late
  CHECK(sales.failed_requests == 0);  // late's failure is the other process's to count
}

}  // namespace flashsale::test
