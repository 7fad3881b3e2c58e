// The persist stage of the sqlite family against a real file: idempotent
// redelivery, one order per user and product, all-or-nothing batches, reads,
// and many callers at once. Row counts are read through a separate connection.
#include <atomic>
#include <cctype>
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

constexpr std::int64_t kPaymentTimeoutMs = 15 * 60 * 1000;

struct StoreOnFile {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family{path};
  std::unique_ptr<OrderStore> store = family.make_store();
  SideConnection side{path};

  std::vector<PersistResult> persist(const std::vector<OrderEvent>& events) {
    std::vector<PersistResult> results;
    Status status = store->persist(events, kPaymentTimeoutMs, &results);
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
  CHECK(db.rows("failed_requests") == 0);
  CHECK(db.side.number("SELECT amount FROM orders WHERE request_id = 'r1'") == 2 * 1999);
  CHECK(db.side.number("SELECT deadline_ms - created_ms FROM orders WHERE request_id = 'r1'") == kPaymentTimeoutMs);
  CHECK(db.side.text("SELECT order_status FROM order_requests WHERE request_id = 'r2'") == "awaiting_payment");
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
  CHECK(db.rows("failed_requests") == 1);
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
  // The third event's order row cannot be written: r1 and r2 already are
  // inside the transaction when it fails.
  db.side.exec(
      "CREATE TRIGGER refuse_r3 BEFORE INSERT ON orders WHEN NEW.request_id = 'r3'"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  std::vector<OrderEvent> batch = {event("r1", 1, 7), event("r2", 2, 7), event("r3", 3, 7), event("r4", 4, 7)};
  std::vector<PersistResult> results;
  Status status = db.store->persist(batch, kPaymentTimeoutMs, &results);
  CHECK_FALSE(status.is_ok());
  CHECK(status.message().find("injected failure") != std::string::npos);
  CHECK(db.rows("orders") == 1);
  CHECK(db.rows("order_requests") == 1);
  RequestState state;
  CHECK(db.store->find_request("r1", &state).code() == Code::not_found);
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 1);

  db.side.exec("DROP TRIGGER refuse_r3");
  results = db.persist(batch);
  CHECK(results[2].status == RequestStatus::success);
  CHECK(db.rows("orders") == 5);
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 5);
}

TEST_CASE("sqlite persist: a batch whose totals cannot be written writes nothing", "[sqlite]") {
  StoreOnFile db;
  db.persist({event("before", 9, 7)});
  // The totals are written last, after every order and failure of the batch.
  db.side.exec(
      "CREATE TRIGGER refuse_totals BEFORE UPDATE ON product_sales"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  std::vector<PersistResult> results;
  Status status = db.store->persist({event("r1", 1, 7), event("r2", 1, 7)}, kPaymentTimeoutMs, &results);
  CHECK_FALSE(status.is_ok());
  CHECK(db.rows("orders") == 1);
  CHECK(db.rows("failed_requests") == 0);
  RequestState state;
  CHECK(db.store->find_request("r2", &state).code() == Code::not_found);
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

TEST_CASE("sqlite sales: orders, quantity awaiting payment and failed requests of one product", "[sqlite]") {
  StoreOnFile db;
  db.persist({event("a", 1, 7, 2), event("b", 2, 7, 3), event("c", 1, 7), event("d", 1, 8, 5)});
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 2);
  CHECK(sales.orders_awaiting_payment == 2);
  CHECK(sales.quantity_awaiting_payment == 5);
  CHECK(sales.quantity_held() == 5);
  CHECK(sales.failed_requests == 1);
  REQUIRE(db.store->sales(16, &sales).is_ok());  // created, nothing sold
  CHECK(sales.orders == 0);
  CHECK(sales.quantity_awaiting_payment == 0);
  CHECK(sales.failed_requests == 0);
  CHECK(db.store->sales(99, &sales).code() == Code::not_found);  // never created
}

TEST_CASE("sqlite sales: exact across batches, redeliveries and products", "[sqlite]") {
  StoreOnFile db;
  db.persist({event("a", 1, 7, 2), event("b", 2, 8, 3), event("c", 1, 7), event("d", 3, 7, 4)});
  db.persist({event("a", 1, 7, 2), event("c", 1, 7), event("e", 4, 8), event("f", 2, 8, 9)});
  ProductSales sales;
  REQUIRE(db.store->sales(7, &sales).is_ok());
  CHECK(sales.orders == 2);                     // a, d
  CHECK(sales.quantity_awaiting_payment == 6);  // 2 + 4
  CHECK(sales.failed_requests == 1);            // c, counted once though delivered twice
  REQUIRE(db.store->sales(8, &sales).is_ok());
  CHECK(sales.orders == 2);  // b, e
  CHECK(sales.quantity_awaiting_payment == 4);
  CHECK(sales.failed_requests == 1);  // f
  // The totals agree with the rows they count.
  CHECK(db.side.number("SELECT sum(quantity) FROM orders WHERE product_id = 7") == 6);
  CHECK(db.side.number("SELECT count(*) FROM failed_requests WHERE product_id = 8") == 1);
}

TEST_CASE("sqlite persist: UUID request ids are kept as 16 bytes and read back as their text", "[sqlite]") {
  StoreOnFile db;
  const std::string won = "0190f5c2-7a4b-7c3d-8e5f-0123456789ab";
  const std::string lost = "0190f5c2-7a4b-7c3d-8e5f-0123456789ac";
  auto first = db.persist({event(won, 1, 7), event(lost, 1, 7)});
  REQUIRE(first[0].status == RequestStatus::success);
  REQUIRE(first[1].status == RequestStatus::failed);
  CHECK(db.side.text("SELECT typeof(request_id) || '/' || length(request_id) FROM orders") == "blob/16");
  CHECK(db.side.text("SELECT typeof(request_id) || '/' || length(request_id) FROM failed_requests") == "blob/16");
  CHECK(db.side.text("SELECT status FROM order_requests WHERE request_id = '" + won + "'") == "success");
  CHECK(db.side.text("SELECT reason FROM order_requests WHERE request_id = '" + lost + "'") == "already_purchased");

  SECTION("redelivered, both answer as the first time and nothing is written") {
    auto again = db.persist({event(lost, 1, 7), event(won, 1, 7)});
    CHECK(again[0].status == RequestStatus::failed);
    CHECK(again[0].reason == "already_purchased");
    CHECK(again[1].status == RequestStatus::success);
    CHECK(again[1].order_id == first[0].order_id);
    CHECK(db.rows("orders") == 1);
    CHECK(db.rows("failed_requests") == 1);
  }
  SECTION("find_request answers with the text id") {
    RequestState state;
    REQUIRE(db.store->find_request(won, &state).is_ok());
    CHECK(state.request_id == won);
    CHECK(state.order_id == first[0].order_id);
    REQUIRE(db.store->find_request(lost, &state).is_ok());
    CHECK(state.reason == "already_purchased");
  }
  SECTION("another spelling of the same UUID is another id, as in every backend") {
    std::string upper = won;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    RequestState state;
    CHECK(db.store->find_request(upper, &state).code() == Code::not_found);
    auto results = db.persist({event(upper, 5, 7)});
    CHECK(results[0].status == RequestStatus::success);
    CHECK(results[0].order_id != first[0].order_id);
  }
}

TEST_CASE("sqlite persist: ids that are not canonical UUIDs are kept as text", "[sqlite]") {
  StoreOnFile db;
  // 36 characters but not a UUID, and a UUID with a stray character.
  const std::string odd = "0190f5c2-7a4b-7c3d-8e5f-0123456789ag";
  db.persist({event(odd, 1, 7), event("r1", 2, 7)});
  CHECK(db.side.number("SELECT count(*) FROM orders WHERE typeof(request_id) = 'text'") == 2);
  RequestState state;
  REQUIRE(db.store->find_request(odd, &state).is_ok());
  CHECK(state.status == RequestStatus::success);
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
        if (!db.store->persist(batch, kPaymentTimeoutMs, &results).is_ok()) ++failures;
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
