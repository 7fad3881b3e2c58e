// Conformance of an operator's hands on a live sale: pausing a product's sale
// in the admit stage (admission.h: set_paused, and admit's sale_paused), and
// stock top-ups, recorded in the persist stage (order_store.h: record_top_up,
// complete_top_ups, the sales totals) and taken by the admit stage once per
// top-up (return_stock), also while buyers stampede.
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "conformance.h"
#include "flashsale/clock.h"

namespace flashsale::conformance {

namespace {

bool paused(Admission& admission, ProductId product) {
  StockLevel level;
  REQUIRE_OK(admission.stock(product, &level));
  return level.paused;
}

StockReturn top_up_of(ProductId product, TopUpId id, std::int32_t quantity) {
  return StockReturn{0, {}, 0, product, quantity, id};
}

Product create_product(OrderStore& store, std::int64_t stock = 100) {
  UnixMillis now = now_ms();
  Product created;
  REQUIRE_OK(store.create_product(
      NewProduct{"top-up " + random_request_id(), stock, 500, now - 3600 * 1000, now + 3600 * 1000}, &created));
  return created;
}

// The pending top-ups among `ids`, as pending_stock_returns lists them.
std::vector<StockReturn> pending_top_ups(OrderStore& store, const std::set<TopUpId>& ids) {
  return pending_returns_where(store, [&](const StockReturn& r) { return r.is_top_up() && ids.count(r.top_up_id) != 0; });
}

}  // namespace

TEST_CASE("sale admin: a paused sale refuses buys with sale_paused until resumed", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 5);
  std::string key = random_request_id();
  OrderEvent first = make_event(sale.product, sale.user);
  REQUIRE_OK(admit(admission, first, key).status);
  CHECK_FALSE(paused(admission, sale.product));

  REQUIRE_OK(admission.set_paused(sale.product, true));
  REQUIRE_OK(admission.set_paused(sale.product, true));  // idempotent
  CHECK(paused(admission, sale.product));
  REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user + 1)).status, Code::sale_paused);
  // A replay changes nothing, so it still answers the earlier request.
  AdmitResult replay = admit(admission, make_event(sale.product, sale.user), key);
  REQUIRE_OK(replay.status);
  CHECK(replay.request_id == first.request_id);
  CHECK(remaining(admission, sale.product) == 4);
  // Other products sell on.
  OpenSale other = preload(admission, 1);
  REQUIRE_OK(admit(admission, make_event(other.product, other.user)).status);

  REQUIRE_OK(admission.set_paused(sale.product, false));
  REQUIRE_OK(admission.set_paused(sale.product, false));
  CHECK_FALSE(paused(admission, sale.product));
  REQUIRE_OK(admit(admission, make_event(sale.product, sale.user + 1)).status);
  CHECK(remaining(admission, sale.product) == 3);
}

TEST_CASE("sale admin: a pause holds through a preload and is the product's, not its stock's", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  ProductId product = random_id();
  REQUIRE_OK(admission.set_paused(product, true));
  StockLevel level;
  REQUIRE_OK(admission.stock(product, &level));
  CHECK(level.paused);
  CHECK_FALSE(level.preloaded);

  // Preloading does not open a paused sale.
  REQUIRE_OK(admission.load_stock(open_sale(product, 3)));
  CHECK(paused(admission, product));
  REQUIRE_CODE(admit(admission, make_event(product, random_id())).status, Code::sale_paused);
  CHECK(remaining(admission, product) == 3);
  REQUIRE_OK(admission.set_paused(product, false));
  REQUIRE_OK(admit(admission, make_event(product, random_id())).status);
}

TEST_CASE("sale admin: the admit stage takes a top-up once per top-up id", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 5);
  TopUpId id = random_id();
  REQUIRE_OK(admission.return_stock(top_up_of(sale.product, id, 3)));
  REQUIRE_OK(admission.return_stock(top_up_of(sale.product, id, 3)));
  CHECK(remaining(admission, sale.product) == 8);
  REQUIRE_OK(admission.return_stock(top_up_of(sale.product, id + 1, 2)));
  CHECK(remaining(admission, sale.product) == 10);
  // Top-up ids and order ids are apart: an order with the same number still returns.
  OrderEvent event = make_event(sale.product, sale.user);
  REQUIRE_OK(admit(admission, event).status);
  REQUIRE_OK(admission.return_stock(StockReturn{id, event.request_id, sale.user, sale.product, 1, 0}));
  CHECK(remaining(admission, sale.product) == 10);
  REQUIRE_CODE(admission.return_stock(top_up_of(sale.product, id + 2, 0)), Code::invalid_argument);

  // Without stock nothing is added or remembered (not_preloaded: it stays
  // pending, and comes again once stock is loaded).
  ProductId bare = random_id();
  REQUIRE_CODE(admission.return_stock(top_up_of(bare, id, 4)), Code::not_preloaded);
  StockLevel level;
  REQUIRE_OK(admission.stock(bare, &level));
  CHECK_FALSE(level.preloaded);
  REQUIRE_OK(admission.load_stock(open_sale(bare, 1)));
  REQUIRE_OK(admission.return_stock(top_up_of(bare, id, 4)));
  CHECK(remaining(admission, bare) == 5);
}

TEST_CASE("sale admin: top-ups racing 16 threads of buys sell exactly initial plus added", "[admit][concurrency]") {
  Backends backends;
  Admission& admission = backends.admission();
  constexpr int kInitial = 50, kTopUps = 10, kEach = 5, kMaxBuyers = 100'000;
  OpenSale sale = preload(admission, kInitial);
  TopUpId first_top_up = random_id();
  std::atomic<bool> go{false}, topped_up{false};
  std::atomic<int> next{0}, accepted{0}, other{0}, top_up_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      // Each buyer once; a thread stops at a sold-out seen after the last top-up.
      for (int i = next++; i < kMaxBuyers; i = next++) {
        bool after_top_ups = topped_up.load();
        Code code = admit(admission, make_event(sale.product, sale.user + i)).status.code();
        if (code == Code::ok) {
          ++accepted;
        } else if (code != Code::sold_out) {
          ++other;
        } else if (after_top_ups) {
          break;
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kTopUps; ++i) {
      // Each twice: a retried hand-over adds nothing.
      for (int twice = 0; twice < 2; ++twice) {
        if (!admission.return_stock(top_up_of(sale.product, first_top_up + i, kEach)).is_ok()) ++top_up_errors;
      }
    }
    topped_up = true;
  });
  go = true;
  for (std::thread& thread : threads) thread.join();
  CHECK(top_up_errors == 0);
  CHECK(other == 0);
  CHECK(accepted == kInitial + kTopUps * kEach);
  CHECK(remaining(admission, sale.product) == 0);
}

TEST_CASE("sale admin: a recorded top-up counts in the sales totals and is pending until complete", "[persist]") {
  Backends backends;
  OrderStore& store = backends.store();
  Product product = create_product(store);

  StockReturn first;
  REQUIRE_OK(store.record_top_up(product.id, 7, &first));
  CHECK(first.is_top_up());
  CHECK(first.product_id == product.id);
  CHECK(first.quantity == 7);
  CHECK(first.order_id == 0);
  CHECK(first.request_id.empty());
  StockReturn second;
  REQUIRE_OK(store.record_top_up(product.id, 2, &second));
  CHECK(second.top_up_id != first.top_up_id);

  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.quantity_added == 9);
  CHECK(sales.quantity_top_ups_pending == 9);
  CHECK(sales.quantity_added_complete() == 0);
  CHECK(sales.quantity_held() == 0);  // a top-up holds nothing: it adds
  std::vector<StockReturn> pending = pending_top_ups(store, {first.top_up_id, second.top_up_id});
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].top_up_id == first.top_up_id);  // oldest first
  CHECK(pending[0].quantity == 7);
  CHECK(pending[0].product_id == product.id);
  CHECK(pending[1].top_up_id == second.top_up_id);

  // Completed once, however often it is marked; unknown ids are skipped.
  REQUIRE_OK(store.complete_top_ups({first.top_up_id, first.top_up_id, second.top_up_id + (std::int64_t{1} << 50)}));
  REQUIRE_OK(store.complete_top_ups({first.top_up_id}));
  REQUIRE_OK(store.complete_top_ups({}));
  sales = sales_of(store, product.id);
  CHECK(sales.quantity_added == 9);
  CHECK(sales.quantity_top_ups_pending == 2);
  CHECK(sales.quantity_added_complete() == 7);
  pending = pending_top_ups(store, {first.top_up_id, second.top_up_id});
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].top_up_id == second.top_up_id);

  // Completing a top-up leaves the order totals alone, and an order's return the top-ups.
  CHECK(sales.orders == 0);
  CHECK(sales.quantity_returns_pending == 0);

  StockReturn none;
  REQUIRE_CODE(store.record_top_up(product.id + (std::int64_t{1} << 40), 1, &none), Code::not_found);
  REQUIRE_CODE(store.record_top_up(product.id, 0, &none), Code::invalid_argument);
  REQUIRE_CODE(store.record_top_up(product.id, -3, &none), Code::invalid_argument);
  CHECK(sales_of(store, product.id).quantity_added == 9);
}

TEST_CASE("sale admin: top-ups survive a restart", "[persist][restart]") {
  std::optional<Backends> backends(std::in_place);
  std::shared_ptr<test::TempDir> state = backends->dir();
  Product product = create_product(backends->store());
  StockReturn done, open;
  REQUIRE_OK(backends->store().record_top_up(product.id, 4, &done));
  REQUIRE_OK(backends->store().record_top_up(product.id, 6, &open));
  REQUIRE_OK(backends->store().complete_top_ups({done.top_up_id}));

  backends.reset();  // the process stops
  backends.emplace(Overrides{}, state);
  OrderStore& store = backends->store();
  ProductSales sales = sales_of(store, product.id);
  CHECK(sales.quantity_added == 10);
  CHECK(sales.quantity_top_ups_pending == 6);
  std::vector<StockReturn> pending = pending_top_ups(store, {done.top_up_id, open.top_up_id});
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].top_up_id == open.top_up_id);
  CHECK(pending[0].quantity == 6);
  // Ids are not handed out again.
  StockReturn later;
  REQUIRE_OK(store.record_top_up(product.id, 1, &later));
  CHECK(later.top_up_id != done.top_up_id);
  CHECK(later.top_up_id != open.top_up_id);
}

}  // namespace flashsale::conformance
