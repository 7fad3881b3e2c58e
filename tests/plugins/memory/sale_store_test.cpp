// The memory sale store beyond the conformance suite, on a fake clock: the
// exact sale window, stock expiry, request-state expiry and its sweep,
// compensation and stock returns when there is no stock to give back, and the
// pending state written after the ledger lock (never over a final one).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "fake_clock.h"
#include "memory/sale_store.h"

namespace flashsale::memory {

namespace {

constexpr std::int64_t kStateTtlMs = 10'000;

struct Fixture {
  test::FakeClock time;
  SaleStore store{StoreOptions{kStateTtlMs, std::chrono::milliseconds(1000), 3, time.clock()}};

  OrderEvent event(ProductId product, UserId user, std::string request_id) {
    return OrderEvent{std::move(request_id), user, product, 1, 100, time.now()};
  }
  static AdmitRequest request(OrderEvent event, std::string idempotency_key = {}) {
    AdmitRequest request;
    request.event = std::move(event);
    request.idempotency_key = std::move(idempotency_key);
    return request;
  }
  Code admit(ProductId product, UserId user, std::string request_id) {
    return store.admit(request(event(product, user, std::move(request_id)))).status.code();
  }
  RequestStatus status_of(const std::string& request_id) {
    RequestState state;
    REQUIRE(store.lookup(request_id, &state).is_ok());
    return state.status;
  }
};

}  // namespace

TEST_CASE("memory admit: the sale window includes its start, not its end", "[memory][admit]") {
  Fixture f;
  UnixMillis start = f.time.now() + 1000;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, start, start + 1000, 0}).is_ok());
  f.time.advance(999);
  CHECK(f.admit(7, 1, "r1") == Code::sale_not_active);
  f.time.advance(1);
  CHECK(f.admit(7, 1, "r1") == Code::ok);
  f.time.advance(999);
  CHECK(f.admit(7, 2, "r2") == Code::ok);
  f.time.advance(1);
  CHECK(f.admit(7, 3, "r3") == Code::sale_not_active);
}

TEST_CASE("memory admit: stock expires after its ttl, locks stay", "[memory][admit]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 60}).is_ok());
  CHECK(f.admit(7, 1, "r1") == Code::ok);
  f.time.advance(60'000);
  CHECK_FALSE(f.store.stock(7).preloaded);
  CHECK(f.admit(7, 2, "r2") == Code::not_preloaded);

  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  CHECK(f.admit(7, 1, "r3") == Code::already_purchased);
  CHECK(f.admit(7, 2, "r2") == Code::ok);
}

TEST_CASE("memory notify: final states expire after the state ttl", "[memory][notify]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  REQUIRE(f.admit(7, 1, "r1") == Code::ok);
  REQUIRE(f.store.finish(f.event(7, 1, "r1"), PersistResult{RequestStatus::success, {}, 11}).is_ok());

  RequestState state;
  f.time.advance(kStateTtlMs - 1);
  REQUIRE(f.store.lookup("r1", &state).is_ok());
  CHECK(state.order_id == 11);
  f.time.advance(1);
  CHECK(f.store.lookup("r1", &state).code() == Code::not_found);
}

TEST_CASE("memory notify: expired states are swept without being read", "[memory][notify]") {
  Fixture f;
  f.store.states().sweep_if_due();  // the first sweep is due at once; start the interval now
  for (int i = 0; i < 100; ++i) {
    REQUIRE(f.store.backfill(RequestState{"r" + std::to_string(i), RequestStatus::failed, "x", 0}).is_ok());
  }
  CHECK(f.store.states().size() == 100);
  f.time.advance(kStateTtlMs);
  REQUIRE(f.store.backfill(RequestState{"fresh", RequestStatus::success, {}, 1}).is_ok());
  CHECK(f.store.states().size() == 1);
}

TEST_CASE("memory notify: compensation without stock is still done once", "[memory][notify]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 60}).is_ok());
  REQUIRE(f.admit(7, 1, "r1") == Code::ok);
  f.time.advance(60'000);  // the stock expired
  REQUIRE(f.store.finish(f.event(7, 1, "r1"), PersistResult{RequestStatus::failed, "x", 0}).is_ok());

  // A re-preload counts from persisted orders: a late compensation must not add to it.
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  REQUIRE(f.store.finish(f.event(7, 1, "r1"), PersistResult{RequestStatus::failed, "x", 0}).is_ok());
  CHECK(f.store.stock(7).remaining == 10);
  CHECK(f.admit(7, 1, "r2") == Code::ok);  // the lock was released
}

TEST_CASE("memory admit: an order's stock comes back once per stock level and frees its buyer", "[memory][admit]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 60}).is_ok());
  REQUIRE(f.admit(7, 1, "r1") == Code::ok);
  REQUIRE(f.admit(7, 2, "r2") == Code::ok);
  StockReturn first{11, "r1", 1, 7, 1};
  StockReturn second{12, "r2", 2, 7, 1};

  REQUIRE(f.store.return_stock(first).is_ok());
  REQUIRE(f.store.return_stock(first).is_ok());
  CHECK(f.store.stock(7).remaining == 9);
  CHECK(f.admit(7, 1, "r3") == Code::ok);  // the lock was released
  CHECK(f.store.return_stock(StockReturn{11, "r1", 1, 7, 0}).code() == Code::invalid_argument);

  // Expired stock: the lock still goes, the quantity is not added, the
  // order is not remembered and the return stays pending (not_preloaded)...
  f.time.advance(60'000);
  CHECK(f.store.return_stock(second).code() == Code::not_preloaded);
  CHECK_FALSE(f.store.stock(7).preloaded);
  // ...so after a re-preload (which counts from the persist stage, where
  // both returns may still be pending) each of them counts once more.
  REQUIRE(f.store.load_stock(SaleStock{7, 5, 0, f.time.now() + 3'600'000, 0}).is_ok());
  CHECK(f.admit(7, 2, "r4") == Code::ok);  // r2's lock went with its return
  REQUIRE(f.store.return_stock(second).is_ok());
  REQUIRE(f.store.return_stock(first).is_ok());
  REQUIRE(f.store.return_stock(second).is_ok());
  CHECK(f.store.stock(7).remaining == 6);
  // r3 and r4 hold their users' locks: the old orders' returns leave them.
  CHECK(f.admit(7, 1, "r5") == Code::already_purchased);
  CHECK(f.admit(7, 2, "r6") == Code::already_purchased);

  // A product never preloaded: nothing to do, and not_preloaded.
  CHECK(f.store.return_stock(StockReturn{13, "r7", 3, 8, 1}).code() == Code::not_preloaded);
  CHECK_FALSE(f.store.stock(8).preloaded);
}

TEST_CASE("memory admit: bad input changes nothing", "[memory][admit]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  OrderEvent zero = f.event(7, 1, "r1");
  zero.quantity = 0;
  CHECK(f.store.admit(Fixture::request(zero)).status.code() == Code::invalid_argument);
  CHECK(f.store.load_stock(SaleStock{7, -1, 0, 1, 0}).code() == Code::invalid_argument);
  CHECK(f.store.stock(7).remaining == 10);
  CHECK(f.admit(7, 1, "r1") == Code::ok);
}

TEST_CASE("memory notify: a late pending write never overwrites a final state", "[memory][notify]") {
  Fixture f;
  RequestStates& states = f.store.states();
  states.put(RequestState{"r1", RequestStatus::success, {}, 11});
  states.put_pending_if_absent(RequestKey("r1"));
  RequestState state;
  REQUIRE(states.get("r1", &state));
  CHECK(state.status == RequestStatus::success);
  CHECK(state.order_id == 11);

  // Expired but not yet swept still counts as present: it must not come back as pending.
  f.time.advance(kStateTtlMs);
  states.put_pending_if_absent(RequestKey("r1"));
  CHECK_FALSE(states.get("r1", &state));

  states.put_pending_if_absent(RequestKey("r2"));
  REQUIRE(states.get("r2", &state));
  CHECK(state.status == RequestStatus::pending);
}

TEST_CASE("memory admit: a consumer finishing at once never leaves a state pending", "[memory][admit][concurrency]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 100'000, 0, f.time.now() + 3'600'000, 0}).is_ok());
  constexpr int kBuyers = 4;
  constexpr int kPerBuyer = 500;
  std::atomic<int> finished{0};
  std::atomic<bool> finish_failed{false};
  std::set<std::string> failed_ids;
  // The consumer finishes each event as soon as it is in the outbox, racing
  // the admitting thread's pending write; every third one fails.
  std::thread consumer([&] {
    while (finished < kBuyers * kPerBuyer) {
      std::vector<OutboxEntry> batch;
      f.store.outbox().read(64, std::chrono::milliseconds(10), &batch);
      std::vector<std::string> ids;
      for (const OutboxEntry& entry : batch) {
        bool fail = entry.event.user_id % 3 == 0;
        PersistResult result = fail ? PersistResult{RequestStatus::failed, "already_purchased", 0}
                                    : PersistResult{RequestStatus::success, {}, entry.event.user_id};
        if (!f.store.finish(entry.event, result).is_ok()) finish_failed = true;
        if (fail) failed_ids.insert(entry.event.request_id);
        ids.push_back(entry.id);
        ++finished;
      }
      f.store.outbox().ack(ids);
    }
  });
  std::vector<std::thread> buyers;
  std::vector<std::vector<std::string>> admitted(kBuyers);
  for (int b = 0; b < kBuyers; ++b) {
    buyers.emplace_back([&, b] {
      for (int i = 0; i < kPerBuyer; ++i) {
        UserId user = b * kPerBuyer + i + 1;
        // UUID text, as the host makes them, and other ids: both are stored.
        std::string id = i % 2 == 0 ? "0190f1e2-7a3b-7c4d-8e5f-" + std::to_string(100000000000 + user)
                                    : "buy-" + std::to_string(user);
        AdmitResult result = f.store.admit(Fixture::request(f.event(7, user, id)));
        if (result.status.is_ok()) admitted[b].push_back(result.request_id);
      }
    });
  }
  for (std::thread& buyer : buyers) buyer.join();
  consumer.join();
  CHECK_FALSE(finish_failed);
  int count = 0;
  for (const auto& ids : admitted) {
    for (const std::string& id : ids) {
      ++count;
      RequestStatus expected = failed_ids.count(id) != 0 ? RequestStatus::failed : RequestStatus::success;
      CHECK(f.status_of(id) == expected);
    }
  }
  CHECK(count == kBuyers * kPerBuyer);
  CHECK(f.store.stock(7).remaining == 100'000 - count + static_cast<std::int64_t>(failed_ids.size()));
}

TEST_CASE("memory admit: an idempotent replay sees its request pending, unless older than the state ttl",
          "[memory][admit]") {
  Fixture f;
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  AdmitResult first = f.store.admit(Fixture::request(f.event(7, 1, "r1"), "key-1"));
  REQUIRE(first.status.is_ok());
  // What a replay racing the first admission's own write would find missing.
  f.store.states().erase("r1");
  AdmitResult replay = f.store.admit(Fixture::request(f.event(7, 1, "r2"), "key-1"));
  REQUIRE(replay.status.is_ok());
  CHECK(replay.replayed);
  CHECK(replay.request_id == "r1");
  CHECK(f.status_of("r1") == RequestStatus::pending);

  // Past the ttl the state may have expired for good: a replay must not bring it back.
  f.time.advance(kStateTtlMs);
  AdmitResult late = f.store.admit(Fixture::request(f.event(7, 1, "r3"), "key-1"));
  REQUIRE(late.status.is_ok());
  CHECK(late.request_id == "r1");
  RequestState state;
  CHECK(f.store.lookup("r1", &state).code() == Code::not_found);
}

TEST_CASE("memory admit: past the reserved size, every user lock is kept", "[memory][admit]") {
  Fixture f;
  constexpr int kUsers = 20'000;
  // A small stock reserves little; compensation lets far more users through
  // than were reserved for, so the segments grow under load.
  REQUIRE(f.store.load_stock(SaleStock{7, 10, 0, f.time.now() + 3'600'000, 0}).is_ok());
  for (UserId user = 1; user <= kUsers; ++user) {
    std::string id = "r" + std::to_string(user);
    REQUIRE(f.admit(7, user, id) == Code::ok);
    if (user % 2 == 0) {  // even users fail downstream and give their unit back
      REQUIRE(f.store.finish(f.event(7, user, id), PersistResult{RequestStatus::failed, "x", 0}).is_ok());
    } else {
      // Odd users keep theirs; a failed stranger gives a unit back so the next one can buy.
      REQUIRE(f.store.finish(f.event(7, -user, "give-" + id), PersistResult{RequestStatus::failed, "x", 0}).is_ok());
    }
  }
  for (UserId user = 1; user <= kUsers; ++user) {
    Code expected = user % 2 == 0 ? Code::ok : Code::already_purchased;
    if (f.admit(7, user, "again-" + std::to_string(user)) != expected) FAIL("user " << user);
    if (user % 2 == 0) {
      REQUIRE(
          f.store
              .finish(f.event(7, user, "again-" + std::to_string(user)), PersistResult{RequestStatus::failed, "x", 0})
              .is_ok());
    }
  }
}

}  // namespace flashsale::memory
