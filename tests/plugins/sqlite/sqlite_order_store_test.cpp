// The persist stage of the sqlite family against a real file: idempotent
// redelivery, one order per user and product, all-or-nothing batches, reads,
// and many callers at once. Row counts are read through a separate connection.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "sqlite_test_support.h"
#include "support/temp_dir.h"

namespace flashsale::test {
namespace {

OrderEvent event(const std::string& request_id, UserId user, ProductId product, std::int32_t quantity = 1) {
  OrderEvent e;
  e.request_id = request_id;
  e.user_id = user;
  e.product_id = product;
  e.quantity = quantity;
  e.unit_price = 1999;
  e.accepted_ms = 1767261600000;
  return e;
}

struct StoreOnFile {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family{path};
  std::unique_ptr<OrderStore> store = family.make_store();
  SideConnection side{path};

  std::vector<PersistResult> persist(const std::vector<OrderEvent>& events) {
    std::vector<PersistResult> results;
    Status status = store->persist(events, &results);
    INFO(status.message());
    REQUIRE(status.is_ok());
    REQUIRE(results.size() == events.size());
    return results;
  }
  std::int64_t rows(const std::string& table) { return side.number("SELECT count(*) FROM " + table); }
};

}  // namespace

TEST_CASE("sqlite persist: new events become orders with their own ids", "[sqlite]") {
  StoreOnFile db;
  auto results = db.persist({event("r1", 1, 7, 2), event("r2", 2, 7)});
  CHECK(results[0].status == RequestStatus::success);
  CHECK(results[1].status == RequestStatus::success);
  CHECK(results[0].order_id > 0);
  CHECK(results[1].order_id > results[0].order_id);
  CHECK(db.rows("orders") == 2);
  CHECK(db.rows("order_requests") == 2);
  CHECK(db.side.number("SELECT amount FROM orders WHERE request_id = 'r1'") == 2 * 1999);
}

TEST_CASE("sqlite persist: a redelivered batch writes nothing and answers as the first time", "[sqlite]") {
  StoreOnFile db;
  std::vector<OrderEvent> batch = {event("r1", 1, 7), event("r2", 1, 7), event("r3", 2, 7)};
  auto first = db.persist(batch);
  REQUIRE(first[1].status == RequestStatus::failed);

  auto again = db.persist(batch);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    CHECK(again[i].status == first[i].status);
    CHECK(again[i].reason == first[i].reason);
    CHECK(again[i].order_id == first[i].order_id);
  }
  CHECK(db.rows("orders") == 2);
  CHECK(db.rows("order_requests") == 3);
}

TEST_CASE("sqlite persist: the same request twice in one batch is one order", "[sqlite]") {
  StoreOnFile db;
  auto results = db.persist({event("r1", 1, 7), event("r1", 1, 7)});
  CHECK(results[0].status == RequestStatus::success);
  CHECK(results[1].status == RequestStatus::success);
  CHECK(results[1].order_id == results[0].order_id);
  CHECK(db.rows("orders") == 1);
}

TEST_CASE("sqlite persist: a second order for the same user and product fails already_purchased", "[sqlite]") {
  StoreOnFile db;
  SECTION("in one batch: the first wins") {
    auto results = db.persist({event("r1", 1, 7), event("r2", 1, 7), event("r3", 1, 8)});
    CHECK(results[0].status == RequestStatus::success);
    CHECK(results[1].status == RequestStatus::failed);
    CHECK(results[1].reason == "already_purchased");
    CHECK(results[1].order_id == 0);
    CHECK(results[2].status == RequestStatus::success);
  }
  SECTION("in a later batch") {
    db.persist({event("r1", 1, 7)});
    auto results = db.persist({event("r2", 1, 7)});
    CHECK(results[0].status == RequestStatus::failed);
    CHECK(results[0].reason == "already_purchased");
  }
  CHECK(db.side.number("SELECT count(*) FROM orders WHERE user_id = 1 AND product_id = 7") == 1);
  CHECK(db.side.text("SELECT status || '/' || reason FROM order_requests WHERE request_id = 'r2'") ==
        "failed/already_purchased");
}

TEST_CASE("sqlite persist: a batch that fails half-way writes nothing", "[sqlite]") {
  StoreOnFile db;
  db.persist({event("before", 9, 7)});
  // The third event's outcome row cannot be written: r1 and r2 already are
  // inside the transaction when it fails.
  db.side.exec(
      "CREATE TRIGGER refuse_r3 BEFORE INSERT ON order_requests WHEN NEW.request_id = 'r3'"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  std::vector<OrderEvent> batch = {event("r1", 1, 7), event("r2", 2, 7), event("r3", 3, 7), event("r4", 4, 7)};
  std::vector<PersistResult> results;
  Status status = db.store->persist(batch, &results);
  CHECK_FALSE(status.is_ok());
  CHECK(status.message().find("injected failure") != std::string::npos);
  CHECK(db.rows("orders") == 1);
  CHECK(db.rows("order_requests") == 1);
  RequestState state;
  CHECK(db.store->find_request("r1", &state).code() == Code::not_found);

  db.side.exec("DROP TRIGGER refuse_r3");
  results = db.persist(batch);
  CHECK(results[2].status == RequestStatus::success);
  CHECK(db.rows("orders") == 5);
}

TEST_CASE("sqlite persist: an empty batch is ok and writes nothing", "[sqlite]") {
  StoreOnFile db;
  CHECK(db.persist({}).empty());
  CHECK(db.rows("order_requests") == 0);
}

TEST_CASE("sqlite find_request: the recorded final state, or not_found", "[sqlite]") {
  StoreOnFile db;
  auto results = db.persist({event("ok", 1, 7), event("dup", 1, 7)});
  RequestState state;
  REQUIRE(db.store->find_request("ok", &state).is_ok());
  CHECK(state.request_id == "ok");
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == results[0].order_id);
  CHECK(state.reason.empty());

  REQUIRE(db.store->find_request("dup", &state).is_ok());
  CHECK(state.status == RequestStatus::failed);
  CHECK(state.reason == "already_purchased");
  CHECK(state.order_id == 0);

  CHECK(db.store->find_request("never", &state).code() == Code::not_found);
}

TEST_CASE("sqlite products: created with a new id, found, or not_found", "[sqlite]") {
  StoreOnFile db;
  NewProduct product;
  product.name = "Phone X";
  product.stock = 100;
  product.sale_price = 99900;
  product.start_ms = 1767261600000;
  product.end_ms = 1767265200000;
  Product first, second;
  REQUIRE(db.store->create_product(product, &first).is_ok());
  REQUIRE(db.store->create_product(product, &second).is_ok());
  CHECK(first.id > 0);
  CHECK(second.id > first.id);
  CHECK(first.name == "Phone X");

  Product found;
  REQUIRE(db.store->find_product(first.id, &found).is_ok());
  CHECK(found.id == first.id);
  CHECK(found.name == product.name);
  CHECK(found.stock == product.stock);
  CHECK(found.sale_price == product.sale_price);
  CHECK(found.start_ms == product.start_ms);
  CHECK(found.end_ms == product.end_ms);
  CHECK(db.store->find_product(second.id + 1, &found).code() == Code::not_found);
}

TEST_CASE("sqlite sales: orders, quantity sold and failed requests of one product", "[sqlite]") {
  StoreOnFile db;
  db.persist({event("a", 1, 7, 2), event("b", 2, 7, 3), event("c", 1, 7), event("d", 1, 8, 5)});
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 2);
  CHECK(sales.quantity_sold == 5);
  CHECK(sales.failed_requests == 1);
  REQUIRE(db.store->sales(99, &sales).is_ok());
  CHECK(sales.orders == 0);
  CHECK(sales.quantity_sold == 0);
  CHECK(sales.failed_requests == 0);
}

TEST_CASE("sqlite persist: many writers and readers at once", "[sqlite]") {
  StoreOnFile db;
  constexpr int kWriters = 4, kBatches = 25, kBatchSize = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<OrderEvent> batch;
        for (int i = 0; i < kBatchSize; ++i) {
          int n = (w * kBatches + b) * kBatchSize + i;
          batch.push_back(event("req-" + std::to_string(n), n, 7));
        }
        std::vector<PersistResult> results;
        if (!db.store->persist(batch, &results).is_ok()) ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    RequestState state;
    ProductSales sales;
    for (int i = 0; i < 200; ++i) {
      Code code = db.store->find_request("req-" + std::to_string(i), &state).code();
      if (code != Code::ok && code != Code::not_found) ++failures;
      if (!db.store->sales(7, &sales).is_ok()) ++failures;
    }
  });
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  CHECK(db.rows("orders") == kWriters * kBatches * kBatchSize);
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == kWriters * kBatches * kBatchSize);
}

}  // namespace flashsale::test
