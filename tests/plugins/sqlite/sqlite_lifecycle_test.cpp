// The order lifecycle of the sqlite family where the file matters, beyond the
// conformance suite: a file of the layout before the lifecycle is upgraded in
// place (or, when that fails, left as it was), two stores on one file (as two
// processes would have) race payments, cancels and the expiry with one
// winner per order, and the expiry's statements read the partial index.
#include <sqlite3.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "flashsale/clock.h"
#include "order_sql.h"
#include "sqlite_test_support.h"
#include "support/temp_dir.h"

namespace flashsale::test {
namespace {

constexpr std::int64_t kHourMs = 3600 * 1000;
constexpr std::int64_t kUpgradeWindowMs = 15 * 60 * 1000;  // what an upgraded order gets to pay

// A file of schema version 3 as that build laid it out, with two products,
// three orders (one with a UUID request id, kept as 16 bytes) and a failed
// request, and the totals that build kept for them.
void write_version_3_file(const std::string& path) {
  SideConnection old(path);
  create_old_layout(old, 3);
  old.exec("INSERT INTO products VALUES (1, 'Old', 10, 100, 0, 9999999999999, 1000), (2, 'Older', 10, 50, 0, 1, 1000)");
  old.exec(
      "INSERT INTO orders VALUES (1, 'v3-a', 1, 1, 2, 100, 200, 1000, 1001),"
      " (2, 'v3-b', 2, 1, 1, 100, 100, 1000, 1002),"
      " (3, x'0190f5c27a4b7c3d8e5f0123456789ab', 3, 2, 3, 50, 150, 1000, 1003)");
  old.exec("INSERT INTO failed_requests VALUES ('v3-c', 1, 1, 1, 'already_purchased', 1004)");
  old.exec("INSERT INTO product_sales VALUES (1, 2, 3, 1), (2, 1, 3, 0)");
}

OrderEvent event(const std::string& request_id, UserId user, ProductId product, std::int32_t quantity,
                 std::int64_t unit_price) {
  return OrderEvent{request_id, user, product, quantity, unit_price, 1767261600000};
}

Order find(OrderStore& store, OrderId id) {
  Order order;
  Status status = store.find_order(id, &order);
  INFO(status.message());
  REQUIRE(status.is_ok());
  return order;
}

ProductSales sales_of(OrderStore& store, ProductId id) {
  ProductSales sales;
  REQUIRE(store.sales(id, &sales).is_ok());
  return sales;
}

// The details of EXPLAIN QUERY PLAN for sql, one line each.
std::string query_plan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &statement, nullptr);
  std::string plan = rc == SQLITE_OK ? "" : std::string("cannot prepare: ") + sqlite3_errmsg(db);
  while (rc == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(statement, 3));
    plan += "\n";
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return plan;
}

}  // namespace

TEST_CASE("sqlite lifecycle: a file of schema version 3 is upgraded in place", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  write_version_3_file(path);
  UnixMillis before = now_ms();
  SqliteFamily family(path);
  std::unique_ptr<OrderStore> store = family.make_store();
  UnixMillis after = now_ms();

  SideConnection side(path);
  CHECK(side.number("PRAGMA user_version") == 6);
  auto has = [&](const std::string& name) {
    return side.number("SELECT count(*) FROM sqlite_master WHERE name = '" + name + "'") == 1;
  };
  CHECK_FALSE(has("orders_user_product"));
  CHECK(has("orders_active_user_product"));
  CHECK(has("orders_awaiting_deadline"));
  CHECK(has("stock_returns"));
  CHECK_FALSE(has("product_sales_v3"));

  // Every order awaits payment, with the upgrade's window to pay.
  for (OrderId id : {1, 2, 3}) {
    INFO("order " << id);
    Order order = find(*store, id);
    CHECK(order.status == OrderStatus::awaiting_payment);
    CHECK(order.created_ms == 1000 + id);
    CHECK(order.deadline_ms >= before + kUpgradeWindowMs);
    CHECK(order.deadline_ms <= after + kUpgradeWindowMs);
    CHECK_FALSE(order.stock_return_pending);
  }
  CHECK(find(*store, 1).request_id == "v3-a");
  CHECK(find(*store, 1).amount == 200);
  CHECK(find(*store, 3).request_id == "0190f5c2-7a4b-7c3d-8e5f-0123456789ab");
  Product product;
  REQUIRE(store->find_product(2, &product).is_ok());
  CHECK(product.stock_shards == 1);

  // The totals carry over, every order counted as awaiting payment.
  ProductSales sales = sales_of(*store, 1);
  CHECK(sales.orders == 2);
  CHECK(sales.failed_requests == 1);
  CHECK(sales.orders_awaiting_payment == 2);
  CHECK(sales.quantity_awaiting_payment == 3);
  CHECK(sales.quantity_held() == 3);
  sales = sales_of(*store, 2);
  CHECK(sales.orders_awaiting_payment == 1);
  CHECK(sales.quantity_awaiting_payment == 3);
  CHECK(side.text("SELECT order_status FROM order_requests WHERE request_id = 'v3-a'") == "awaiting_payment");
  CHECK(side.text("SELECT status || '/' || reason FROM order_requests WHERE request_id = 'v3-c'") ==
        "failed/already_purchased");

  // Redelivered, the old requests answer as they did.
  std::vector<PersistResult> results;
  REQUIRE(store->persist({event("v3-a", 1, 1, 2, 100), event("v3-c", 1, 1, 1, 100)}, kHourMs, &results).is_ok());
  CHECK(results[0].status == RequestStatus::success);
  CHECK(results[0].order_id == 1);
  CHECK(results[1].status == RequestStatus::failed);
  CHECK(results[1].reason == "already_purchased");

  // The old orders live the lifecycle: paid, or cancelled and ordered again.
  Order order;
  REQUIRE(store->pay(2, "pay-v3-b", 100, &order).is_ok());
  REQUIRE(store->cancel(1, 1, &order).is_ok());
  REQUIRE(store->persist({event("v4-a", 1, 1, 1, 100)}, kHourMs, &results).is_ok());
  CHECK(results[0].status == RequestStatus::success);
  CHECK(results[0].order_id == 4);
  sales = sales_of(*store, 1);
  CHECK(sales.orders == 3);
  CHECK(sales.orders_paid == 1);
  CHECK(sales.orders_cancelled == 1);
  CHECK(sales.quantity_returns_pending == 2);
  CHECK(sales.orders_awaiting_payment == 1);
  CHECK(side.text("SELECT order_status FROM order_requests WHERE request_id = 'v3-b'") == "paid");

  // Opened again, the file is current and nothing changes.
  std::unique_ptr<OrderStore> again = family.make_store();
  CHECK(side.number("PRAGMA user_version") == 6);
  CHECK(find(*again, 3).deadline_ms == find(*store, 3).deadline_ms);
}

TEST_CASE("sqlite lifecycle: an upgrade that fails half-way leaves the file as it was", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  write_version_3_file(path);
  // A table in the way of the upgrade's last steps: the columns are added to
  // orders before it fails.
  { SideConnection(path).exec("CREATE TABLE stock_returns (x)"); }
  std::string message = refusal(path);
  INFO(message);
  CHECK(message.find("stock_returns") != std::string::npos);

  SideConnection side(path);
  CHECK(side.number("PRAGMA user_version") == 3);
  CHECK(side.number("SELECT count(*) FROM pragma_table_info('orders')") == 9);
  CHECK(side.number("SELECT count(*) FROM sqlite_master WHERE name = 'orders_user_product'") == 1);
  CHECK(side.number("SELECT quantity_sold FROM product_sales WHERE product_id = 1") == 3);

  // Out of the way, the same file upgrades.
  side.exec("DROP TABLE stock_returns");
  CHECK(refusal(path).empty());
  CHECK(side.number("PRAGMA user_version") == 6);
}

TEST_CASE("sqlite lifecycle: two stores on one file race payments and expiry with one winner per order", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family(path);
  // Two stores, each with its own connections and locks, as two processes.
  std::unique_ptr<OrderStore> stores[2] = {family.make_store(), family.make_store()};
  NewProduct product{"raced", 1000, 100, 0, 9999999999999};
  Product created;
  REQUIRE(stores[0]->create_product(product, &created).is_ok());

  constexpr int kOrders = 300;
  std::vector<OrderEvent> events;
  for (int i = 0; i < kOrders; ++i) {
    events.push_back(event("race-" + std::to_string(i), i + 1, created.id, 1 + i % 3, 100));
  }
  std::vector<PersistResult> results;
  REQUIRE(stores[0]->persist(events, kHourMs, &results).is_ok());
  std::vector<OrderId> ids;
  for (const PersistResult& result : results) ids.push_back(result.order_id);
  std::map<OrderId, int> index_of;
  for (int i = 0; i < kOrders; ++i) index_of[ids[i]] = i;
  // Every order is due for the expirers, none is late for the payers (whose
  // deadline is by the store's clock, an hour out).
  UnixMillis due = now_ms() + 2 * kHourMs;

  // Threads only record; the checks run on this thread after the joins.
  std::mutex mutex;
  std::vector<int> paid_ok(kOrders, 0), cancel_ok(kOrders, 0), expired(kOrders, 0);
  std::vector<std::string> errors;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&, s] {  // a payer per store, from either end
      while (!go) std::this_thread::yield();
      for (int n = 0; n < kOrders; ++n) {
        int i = s == 0 ? n : kOrders - 1 - n;
        Order order;
        Status status = stores[s]->pay(ids[i], "pay-" + std::to_string(i), events[i].quantity * 100, &order);
        std::lock_guard lock(mutex);
        if (status.is_ok()) {
          ++paid_ok[i];
        } else if (status.code() != Code::order_cancelled) {
          errors.push_back("pay: " + status.message());
        }
      }
    });
    threads.emplace_back([&, s] {  // an expirer per store
      while (!go) std::this_thread::yield();
      for (int round = 0; round < 60; ++round) {
        std::vector<Order> cancelled;
        Status status = stores[s]->expire_due(due, 3, &cancelled);
        std::lock_guard lock(mutex);
        if (!status.is_ok()) errors.push_back("expire_due: " + status.message());
        for (const Order& order : cancelled) ++expired[index_of.at(order.id)];
      }
    });
  }
  threads.emplace_back([&] {  // the buyers of every third order cancel, through the second store
    while (!go) std::this_thread::yield();
    for (int i = 0; i < kOrders; i += 3) {
      Order order;
      Status status = stores[1]->cancel(ids[i], events[i].user_id, &order);
      std::lock_guard lock(mutex);
      if (status.is_ok()) {
        ++cancel_ok[i];
      } else if (status.code() != Code::already_paid) {
        errors.push_back("cancel: " + status.message());
      }
    }
  });
  go = true;
  for (std::thread& thread : threads) thread.join();
  std::vector<Order> rest;
  REQUIRE(stores[0]->expire_due(due, kOrders, &rest).is_ok());
  for (const Order& order : rest) ++expired[index_of.at(order.id)];

  for (const std::string& error : errors) FAIL_CHECK(error);
  std::int64_t paid = 0, cancelled = 0, quantity_paid = 0, quantity_cancelled = 0;
  for (int i = 0; i < kOrders; ++i) {
    INFO("order " << i);
    Order order = find(*stores[i % 2], ids[i]);
    REQUIRE(order.status != OrderStatus::awaiting_payment);
    if (order.status == OrderStatus::paid) {
      ++paid;
      quantity_paid += order.quantity;
      CHECK(paid_ok[i] >= 1);  // both payers use the same payment id: the later one replays
      CHECK(cancel_ok[i] == 0);
      CHECK(expired[i] == 0);
    } else {
      ++cancelled;
      quantity_cancelled += order.quantity;
      CHECK(paid_ok[i] == 0);
      CHECK(order.stock_return_pending);
      // Cancelled once: by its buyer (then any expiry is not counted) or by one expiry.
      CHECK(expired[i] + (order.cancel_reason == kUserCancelled ? 1 : 0) == 1);
      if (order.cancel_reason == kUserCancelled) CHECK(cancel_ok[i] == 1);
    }
  }
  CHECK(paid + cancelled == kOrders);

  // The totals match the rows, through either store.
  for (auto& store : stores) {
    ProductSales sales = sales_of(*store, created.id);
    CHECK(sales.orders == kOrders);
    CHECK(sales.orders_awaiting_payment == 0);
    CHECK(sales.quantity_awaiting_payment == 0);
    CHECK(sales.orders_paid == paid);
    CHECK(sales.quantity_paid == quantity_paid);
    CHECK(sales.orders_cancelled == cancelled);
    CHECK(sales.quantity_cancelled == quantity_cancelled);
    CHECK(sales.quantity_returns_pending == quantity_cancelled);
  }
  SideConnection side(path);
  CHECK(side.number("SELECT count(*) FROM stock_returns") == cancelled);
  CHECK(side.number("SELECT count(*) FROM orders WHERE status = 1 AND payment_id IS NOT NULL") == paid);

  // Returns completed through both stores at once are completed once.
  std::vector<StockReturn> pending;
  REQUIRE(stores[0]->pending_stock_returns(kOrders, {}, &pending).is_ok());
  CHECK(static_cast<std::int64_t>(pending.size()) == cancelled);
  std::vector<OrderId> returned;
  for (const StockReturn& r : pending) returned.push_back(r.order_id);
  std::vector<std::string> completion_errors(2);
  std::vector<std::thread> completers;
  for (int s = 0; s < 2; ++s) {
    completers.emplace_back([&, s] {
      Status status = stores[s]->complete_stock_returns(returned);
      if (!status.is_ok()) completion_errors[s] = status.message();
    });
  }
  for (std::thread& thread : completers) thread.join();
  CHECK(completion_errors[0].empty());
  CHECK(completion_errors[1].empty());
  CHECK(sales_of(*stores[1], created.id).quantity_returns_pending == 0);
  CHECK(sales_of(*stores[1], created.id).quantity_cancelled == quantity_cancelled);
  CHECK(side.number("SELECT count(*) FROM stock_returns") == 0);
}

TEST_CASE("sqlite lifecycle: the expiry reads the partial index of awaiting orders", "[sqlite]") {
  TempDir dir;
  std::string path = dir.file("flash_sale.db");
  SqliteFamily family(path);
  std::unique_ptr<OrderStore> store = family.make_store();
  // Some rows in every state, so the plan is not that of an empty table.
  std::vector<OrderEvent> events;
  for (int i = 0; i < 20; ++i) events.push_back(event("plan-" + std::to_string(i), i + 1, 7, 1, 100));
  std::vector<PersistResult> results;
  REQUIRE(store->persist(events, kHourMs, &results).is_ok());
  Order order;
  REQUIRE(store->pay(results[0].order_id, "plan-pay", 100, &order).is_ok());
  REQUIRE(store->cancel(results[1].order_id, 2, &order).is_ok());

  // The statements exactly as the store compiles them.
  for (const std::string& sql : {sqlite::order_sql::select_due(), sqlite::order_sql::any_due()}) {
    std::string plan = query_plan(path, sql);
    INFO(sql << "\n" << plan);
    CHECK(plan.find("USING INDEX orders_awaiting_deadline (deadline_ms<?)") != std::string::npos);
    CHECK(plan.find("SCAN orders") == std::string::npos);  // no full scan of the table
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);  // the index is already in deadline order
  }
}

}  // namespace flashsale::test
