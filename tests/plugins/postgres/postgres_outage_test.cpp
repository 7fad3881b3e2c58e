// The postgres family through a database outage, on a server of the test's
// own: stopped (a fast shutdown, as `pg_ctl stop`) while a consumer-like
// writer persists batches and retries each until it is ok, then started
// again. Meanwhile calls (and the backend's readiness) answer unavailable;
// afterwards the store works without a restart of its own, and every request
// has exactly one outcome: nothing the writer was told is lost, nothing is
// doubled.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "postgres_test_support.h"

namespace flashsale::test {
namespace {

constexpr ProductId kProduct = 7;  // order_event's

// Batch k: a new order for user k, a second request of user k, which fails
// (already_purchased), and a redelivery of batch k - 1's order.
std::vector<OrderEvent> batch(int k) {
  std::vector<OrderEvent> events = {order_event("order-" + std::to_string(k), k),
                                    order_event("again-" + std::to_string(k), k)};
  if (k > 0) events.push_back(order_event("order-" + std::to_string(k - 1), k - 1));
  return events;
}

}  // namespace

TEST_CASE("postgres outage: calls are unavailable while the database is down and work once it is back", "[postgres]") {
  PostgresServer server;
  PostgresStore db(server.dsn());
  std::vector<PersistResult> results;
  REQUIRE(db.store->persist(batch(0), kPaymentTimeoutMs, &results).is_ok());
  OrderId first_order = results[0].order_id;

  // Idle connections the server closed while down are not handed out again:
  // the first call after the restart works.
  server.stop();
  server.start();
  REQUIRE(db.store->persist(batch(0), kPaymentTimeoutMs, &results).is_ok());
  CHECK(results[0].order_id == first_order);

  server.stop();
  Status persisted = db.store->persist(batch(1), kPaymentTimeoutMs, &results);
  CHECK(persisted.code() == Code::unavailable);
  CHECK_THAT(persisted.message(), Catch::Contains("postgres persist"));
  Order order;
  CHECK(db.store->find_order(first_order, &order).code() == Code::unavailable);
  // GET /readyz says so, and which key to look at.
  Status ready = db.backend->ready();
  CHECK(ready.code() == Code::unavailable);
  CHECK_THAT(ready.message(), Catch::Contains("postgres.dsn (POSTGRES_DSN)"));
  server.start();
  REQUIRE(db.store->persist(batch(1), kPaymentTimeoutMs, &results).is_ok());
  CHECK(results[0].status == RequestStatus::success);
  REQUIRE(db.store->find_order(first_order, &order).is_ok());
  CHECK(db.backend->ready().is_ok());
}

TEST_CASE("postgres outage: a writer retrying through a restart loses and doubles nothing", "[postgres]") {
  PostgresServer server;
  PostgresStore db(server.dsn(), {{"postgres.pool.size", "2"}});
  constexpr int kBatches = 60;

  // The writer does what the consumer worker does: a batch again until ok.
  std::mutex mutex;
  std::vector<std::vector<PersistResult>> final_results(kBatches);
  std::vector<std::string> odd;  // answers other than ok and unavailable
  std::atomic<int> done{0};
  std::atomic<int> unavailable{0};
  std::atomic<bool> stop_writing{false};
  std::atomic<bool> server_stopped{false};
  std::thread writer([&] {
    for (int k = 0; k < kBatches && !stop_writing; ++k) {
      std::vector<OrderEvent> events = batch(k);
      for (;;) {
        std::vector<PersistResult> results;
        Status status = db.store->persist(events, kPaymentTimeoutMs, &results);
        if (status.is_ok()) {
          std::lock_guard lock(mutex);
          final_results[k] = std::move(results);
          break;
        }
        if (status.code() == Code::unavailable) {
          ++unavailable;
        } else {
          std::lock_guard lock(mutex);
          odd.push_back(status.message());
        }
        if (stop_writing) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the consumer's pause before a retry
      }
      ++done;
      if (k == 10) {  // the rest of the batches meet the outage
        while (!server_stopped && !stop_writing) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  });
  bool started_writing = eventually([&] { return done >= 5; });
  server.stop();
  server_stopped = true;
  bool saw_outage = eventually([&] { return unavailable >= 3; });
  server.start();
  bool finished = eventually([&] { return done == kBatches; }, std::chrono::seconds(60));
  stop_writing = true;
  writer.join();
  REQUIRE(started_writing);
  REQUIRE(saw_outage);
  REQUIRE(finished);
  INFO("first odd answer: " << (odd.empty() ? "" : odd[0]));
  CHECK(odd.empty());

  std::set<OrderId> ids;
  for (int k = 0; k < kBatches; ++k) {
    INFO("batch " << k);
    REQUIRE(final_results[k].size() == batch(k).size());
    CHECK(final_results[k][0].status == RequestStatus::success);
    CHECK(ids.insert(final_results[k][0].order_id).second);
    CHECK(final_results[k][1].status == RequestStatus::failed);
    CHECK(final_results[k][1].reason == "already_purchased");
    if (k > 0) CHECK(final_results[k][2].order_id == final_results[k - 1][0].order_id);
  }
  SideConnection side(server.dsn());
  CHECK(side.number("SELECT count(*) FROM orders") == kBatches);
  CHECK(side.number("SELECT count(*) FROM failed_requests") == kBatches);
  ProductSales sales;
  REQUIRE(db.store->sales(kProduct, &sales).is_ok());
  CHECK(sales.orders == kBatches);
  CHECK(sales.failed_requests == kBatches);
  CHECK(sales.quantity_awaiting_payment == kBatches);
}

}  // namespace flashsale::test
