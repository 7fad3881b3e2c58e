// Conformance of the admit stage (admission.h): every outcome code, the
// idempotency key, re-preload, and the one-step atomicity under concurrency.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "conformance.h"
#include "flashsale/clock.h"

namespace flashsale::conformance {

namespace {

// Admits event(i) for i in [0, count) from `threads` threads released at
// once, and counts the outcomes by code name.
template <typename MakeEvent>
std::map<std::string, int> admit_in_parallel(Admission& admission, int threads, int count, MakeEvent event) {
  std::atomic<bool> go{false};
  std::atomic<int> next{0};
  std::mutex mutex;
  std::map<std::string, int> outcomes;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = next++; i < count; i = next++) {
        Code code = admit(admission, event(i)).status.code();
        std::lock_guard lock(mutex);
        ++outcomes[code_name(code)];
      }
    });
  }
  go = true;
  for (std::thread& thread : pool) thread.join();
  return outcomes;
}

void require_replay_of(const AdmitResult& replay, const OrderEvent& first) {
  REQUIRE_OK(replay.status);
  CHECK(replay.replayed);
  CHECK(replay.request_id == first.request_id);
}

}  // namespace

TEST_CASE("admit: accepts within stock and decrements it", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 10);
  CHECK(remaining(admission, sale.product) == 10);

  OrderEvent event = make_event(sale.product, sale.user, 3);
  AdmitResult result = admit(admission, event);
  REQUIRE_OK(result.status);
  CHECK(result.request_id == event.request_id);
  CHECK_FALSE(result.replayed);
  CHECK(remaining(admission, sale.product) == 7);
}

TEST_CASE("admit: a product never preloaded is not_preloaded", "[admit]") {
  Backends backends;
  ProductId product = random_id();
  StockLevel level;
  REQUIRE_OK(backends.admission().stock(product, &level));
  CHECK_FALSE(level.preloaded);
  REQUIRE_CODE(admit(backends.admission(), make_event(product, random_id())).status, Code::not_preloaded);
}

TEST_CASE("admit: outside the sale window is sale_not_active", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  UnixMillis now = now_ms();
  ProductId future = random_id();
  ProductId past = future + 1;
  REQUIRE_OK(admission.load_stock(SaleStock{future, 10, now + 3600 * 1000, now + 7200 * 1000, 3600}));
  REQUIRE_OK(admission.load_stock(SaleStock{past, 10, now - 7200 * 1000, now - 3600 * 1000, 3600}));
  REQUIRE_CODE(admit(admission, make_event(future, random_id())).status, Code::sale_not_active);
  REQUIRE_CODE(admit(admission, make_event(past, random_id())).status, Code::sale_not_active);
  CHECK(remaining(admission, future) == 10);
  CHECK(remaining(admission, past) == 10);
}

TEST_CASE("admit: a second purchase by the same user is already_purchased", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 10);
  REQUIRE_OK(admit(admission, make_event(sale.product, sale.user)).status);
  REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user)).status, Code::already_purchased);
  REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user, 2)).status, Code::already_purchased);
  CHECK(remaining(admission, sale.product) == 9);

  // The lock is per product.
  OpenSale other = preload(admission, 10);
  REQUIRE_OK(admit(admission, make_event(other.product, sale.user)).status);
}

TEST_CASE("admit: more than the remaining stock is sold_out", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 3);
  UserId users = sale.user;
  REQUIRE_OK(admit(admission, make_event(sale.product, users + 0, 2)).status);
  REQUIRE_CODE(admit(admission, make_event(sale.product, users + 1, 2)).status, Code::sold_out);
  REQUIRE_OK(admit(admission, make_event(sale.product, users + 2, 1)).status);
  REQUIRE_CODE(admit(admission, make_event(sale.product, users + 3, 1)).status, Code::sold_out);
  CHECK(remaining(admission, sale.product) == 0);
  // A sold-out attempt took no lock: asked again, the user hears sold_out,
  // not already_purchased (the lock is checked before the stock).
  REQUIRE_CODE(admit(admission, make_event(sale.product, users + 1, 1)).status, Code::sold_out);
}

TEST_CASE("admit: an idempotency key replays the earlier request_id", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 10);
  std::string key = random_request_id();

  OrderEvent first = make_event(sale.product, sale.user, 2);
  AdmitResult accepted = admit(admission, first, key);
  REQUIRE_OK(accepted.status);
  CHECK_FALSE(accepted.replayed);

  OrderEvent again = make_event(sale.product, sale.user, 2);  // a new request_id, same body
  require_replay_of(admit(admission, again, key), first);
  CHECK(remaining(admission, sale.product) == 8);

  SECTION("with another user the key is reused") {
    REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user + 1, 2), key).status,
                 Code::idempotency_key_reused);
  }
  SECTION("with another quantity the key is reused") {
    REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user, 1), key).status, Code::idempotency_key_reused);
  }
  SECTION("keys are scoped per product") {
    OpenSale other = preload(admission, 10);
    OrderEvent elsewhere = make_event(other.product, sale.user, 2);
    AdmitResult fresh = admit(admission, elsewhere, key);
    REQUIRE_OK(fresh.status);
    CHECK_FALSE(fresh.replayed);
    CHECK(fresh.request_id == elsewhere.request_id);
  }
  CHECK(remaining(admission, sale.product) == 8);
}

TEST_CASE("admit: re-preload of a live product changes nothing", "[admit]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 5);
  std::string key = random_request_id();
  OrderEvent first = make_event(sale.product, sale.user);
  REQUIRE_OK(admit(admission, first, key).status);
  CHECK(remaining(admission, sale.product) == 4);

  // In-flight admissions are not persisted yet: replacing the live level
  // with "initial minus persisted" would resell them.
  REQUIRE_OK(admission.load_stock(open_sale(sale.product, 20)));
  CHECK(remaining(admission, sale.product) == 4);
  REQUIRE_CODE(admit(admission, make_event(sale.product, sale.user)).status, Code::already_purchased);
  require_replay_of(admit(admission, make_event(sale.product, sale.user), key), first);
  CHECK(remaining(admission, sale.product) == 4);
}

TEST_CASE("admit: 64 threads for one user admit exactly one", "[admit][concurrency]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 100);
  std::map<std::string, int> outcomes =
      admit_in_parallel(admission, 64, 64, [&](int) { return make_event(sale.product, sale.user); });
  CHECK(outcomes == std::map<std::string, int>{{"ok", 1}, {"already_purchased", 63}});
  CHECK(remaining(admission, sale.product) == 99);
}

TEST_CASE("admit: 500 users on a stock of 50 admit exactly 50", "[admit][concurrency]") {
  Backends backends;
  Admission& admission = backends.admission();
  OpenSale sale = preload(admission, 50);
  std::map<std::string, int> outcomes =
      admit_in_parallel(admission, 16, 500, [&](int i) { return make_event(sale.product, sale.user + i); });
  CHECK(outcomes == std::map<std::string, int>{{"ok", 50}, {"sold_out", 450}});
  CHECK(remaining(admission, sale.product) == 0);
}

}  // namespace flashsale::conformance
