// lua/admit.lua and lua/load_stock.lua through the redis Admission stage:
// concurrency (one per user, never oversell), idempotency, refusals that
// change nothing, and what an accepted admission leaves in Redis.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "flashsale/clock.h"
#include "flashsale/event_codec.h"
#include "redis/keys.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

TEST_CASE("64 threads admitting the same user at once: exactly one is accepted", "[redis][admit]") {
  SaleFixture sale(100);
  auto& [server, stages, client, product] = sale;

  std::atomic<int> accepted{0}, already{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&] {
      AdmitResult result = stages.admission().admit(AdmitRequest{make_event(product, 7), ""});
      if (result.status.is_ok())
        ++accepted;
      else if (result.status.code() == Code::already_purchased)
        ++already;
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(accepted == 1);
  CHECK(already == 63);
  StockLevel level;
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK(level.remaining == 99);
}

TEST_CASE("500 users on stock 50: exactly 50 are accepted", "[redis][admit]") {
  SaleFixture sale(50);
  auto& [server, stages, client, product] = sale;

  std::atomic<int> accepted{0}, sold_out{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 20; ++t) {
    threads.emplace_back([&, t] {
      for (int u = 0; u < 25; ++u) {
        AdmitResult result = stages.admission().admit(AdmitRequest{make_event(product, t * 25 + u), ""});
        if (result.status.is_ok())
          ++accepted;
        else if (result.status.code() == Code::sold_out)
          ++sold_out;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(accepted == 50);
  CHECK(sold_out == 450);
  StockLevel level;
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK(level.remaining == 0);
  CHECK(client.events("flash_sale:order_events").size() == 50);
}

TEST_CASE(
    "an accepted admission leaves stock, lock, pending state and the "
    "outbox entry",
    "[redis][admit]") {
  SaleFixture sale(5);
  auto& [server, stages, client, product] = sale;
  OrderEvent event = make_event(product, 42, 2);

  AdmitResult result = stages.admission().admit(AdmitRequest{event, "key-1"});
  REQUIRE(result.status.is_ok());
  CHECK(result.request_id == event.request_id);
  CHECK_FALSE(result.replayed);
  CHECK(client.integer({"HGET", keys::sale(product), "remaining"}) == 3);
  CHECK(client.text({"GET", keys::user_lock(product, 42)}) == event.request_id);
  CHECK(client.integer({"PTTL", keys::user_lock(product, 42)}) > 0);  // lives as long as the stock
  RequestState state;
  REQUIRE(stages.notifier().lookup(event.request_id, &state).is_ok());
  CHECK(state.status == RequestStatus::pending);

  std::vector<OutboxEntry> entries;
  REQUIRE(stages.outbox().read(10, std::chrono::milliseconds(0), &entries).is_ok());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].deliveries == 1);
  CHECK(entries[0].event.request_id == event.request_id);
  CHECK(entries[0].event.user_id == 42);
  CHECK(entries[0].event.product_id == product);
  CHECK(entries[0].event.quantity == 2);
  CHECK(entries[0].event.unit_price == 1999);
  CHECK(entries[0].event.accepted_ms == event.accepted_ms);
}

TEST_CASE(
    "an idempotency key replays the earlier request_id and refuses "
    "another body",
    "[redis][admit]") {
  SaleFixture sale(5);
  auto& [server, stages, client, product] = sale;
  OrderEvent first = make_event(product, 1);
  REQUIRE(stages.admission().admit(AdmitRequest{first, "k"}).status.is_ok());

  OrderEvent again = make_event(product, 1);
  AdmitResult replay = stages.admission().admit(AdmitRequest{again, "k"});
  REQUIRE(replay.status.is_ok());
  CHECK(replay.replayed);
  CHECK(replay.request_id == first.request_id);
  RequestState state;
  CHECK(stages.notifier().lookup(again.request_id, &state).code() == Code::not_found);

  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 2), "k"}).status.code() ==
        Code::idempotency_key_reused);
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 1, 2), "k"}).status.code() ==
        Code::idempotency_key_reused);
  StockLevel level;
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK(level.remaining == 4);
}

TEST_CASE("refused admissions change nothing", "[redis][admit]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  ProductId product = fresh_product();

  OrderEvent unknown = make_event(product, 1);
  CHECK(stages.admission().admit(AdmitRequest{unknown, ""}).status.code() == Code::not_preloaded);
  RequestState state;
  CHECK(stages.notifier().lookup(unknown.request_id, &state).code() == Code::not_found);

  SaleStock later = open_sale(product, 1);
  later.start_ms = now_ms() + 60000;
  REQUIRE(stages.admission().load_stock(later).is_ok());
  CHECK(stages.admission().admit(AdmitRequest{make_event(product, 1), ""}).status.code() == Code::sale_not_active);

  ProductId other = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(other, 1)).is_ok());
  CHECK(stages.admission().admit(AdmitRequest{make_event(other, 1, 2), ""}).status.code() == Code::sold_out);
  CHECK_FALSE(client.exists(keys::user_lock(other, 1)));
  CHECK(client.integer({"HGET", keys::sale(other), "remaining"}) == 1);
  CHECK(client.integer({"XLEN", "flash_sale:order_events"}) == 0);
}

TEST_CASE("load_stock keeps a live stock level and sets its TTL", "[redis][admit]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  ProductId product = fresh_product();
  StockLevel level;
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK_FALSE(level.preloaded);

  REQUIRE(stages.admission().load_stock(open_sale(product, 10, 7200)).is_ok());
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 1), ""}).status.is_ok());
  REQUIRE(stages.admission().load_stock(open_sale(product, 10, 7200)).is_ok());  // no resale
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK(level.preloaded);
  CHECK(level.remaining == 9);
  long long ttl = client.integer({"TTL", keys::sale(product)});
  CHECK(ttl > 7000);
  CHECK(ttl <= 7200);

  ProductId forever = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(forever, 1, 0)).is_ok());
  CHECK(client.integer({"TTL", keys::sale(forever)}) == -1);
  CHECK(stages.admission().load_stock(open_sale(forever, -1)).code() == Code::invalid_argument);
}

TEST_CASE("the lock and the idempotency key expire at the sale hash's own expiry instant", "[redis][admit]") {
  SaleFixture sale(5);
  auto& [server, stages, client, product] = sale;
  long long sale_expiry = client.integer({"PEXPIRETIME", keys::sale(product)});
  REQUIRE(sale_expiry > 0);
  CHECK(client.integer({"HGET", keys::sale(product), "expires_ms"}) == sale_expiry);  // load_stock.lua recorded it
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 42), "key-1"}).status.is_ok());
  CHECK(client.integer({"PEXPIRETIME", keys::user_lock(product, 42)}) == sale_expiry);
  CHECK(client.integer({"PEXPIRETIME", keys::idempotency(product, "key-1")}) == sale_expiry);

  ProductId forever = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(forever, 5, 0)).is_ok());
  CHECK(client.integer({"HGET", keys::sale(forever), "expires_ms"}) == 0);
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(forever, 42), "key-1"}).status.is_ok());
  CHECK(client.integer({"PTTL", keys::user_lock(forever, 42)}) == -1);
  CHECK(client.integer({"PTTL", keys::idempotency(forever, "key-1")}) == -1);
}

TEST_CASE("a sale hash without expires_ms gives the lock its remaining time", "[redis][admit]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  ProductId product = fresh_product();
  // As a version before expires_ms preloaded it.
  client.run({"HSET", keys::sale(product), "remaining", "5", "start_ms", "0", "end_ms", "99999999999999"});
  client.run({"PEXPIRE", keys::sale(product), "3600000"});
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(product, 42), ""}).status.is_ok());
  // Within the millisecond the script's PTTL and SET PX round to.
  long long lock_expiry = client.integer({"PEXPIRETIME", keys::user_lock(product, 42)});
  long long sale_expiry = client.integer({"PEXPIRETIME", keys::sale(product)});
  CHECK(lock_expiry >= sale_expiry - 1);
  CHECK(lock_expiry <= sale_expiry + 1);

  // Alive past its recorded instant (its TTL set by hand): the lock must not
  // be born expired.
  ProductId extended = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(extended, 5)).is_ok());
  client.run({"HSET", keys::sale(extended), "expires_ms", "1"});
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(extended, 42), ""}).status.is_ok());
  CHECK(client.integer({"PTTL", keys::user_lock(extended, 42)}) > 3500000);
  CHECK(stages.admission().admit(AdmitRequest{make_event(extended, 42), ""}).status.code() == Code::already_purchased);

  ProductId forever = fresh_product();
  client.run({"HSET", keys::sale(forever), "remaining", "5", "start_ms", "0", "end_ms", "99999999999999"});
  REQUIRE(stages.admission().admit(AdmitRequest{make_event(forever, 42), ""}).status.is_ok());
  CHECK(client.integer({"PTTL", keys::user_lock(forever, 42)}) == -1);
}

// Buyers who arrive together share one admit.lua call (admit_batches.h):
// each must get exactly the answer a call of its own would have given,
// including from the buyers before it in the same batch.
TEST_CASE("one admit.lua call judges a batch of buyers one after the other", "[redis][admit][batch]") {
  SaleFixture sale(3, {{"buy.rate.limit", "1"}});
  auto& [server, stages, client, product] = sale;
  const std::string stream = "flash_sale:order_events";
  struct Buyer {
    UserId user;
    std::string key;  // idempotency key, "" for none
    bool counted;     // counts its rate window ("u:<user>")
    const char* expected;
  };
  // Stock 3, one request per window and subject.
  std::vector<Buyer> buyers = {
      {1, "", false, "ok"},
      {1, "", false, "already_purchased"},  // the lock the buyer before took
      {2, "k2", false, "ok"},
      {2, "k2", false, "replay:r2"},  // the key the buyer before stored
      {9, "k2", false, "idempotency_key_reused"},
      {3, "", true, "ok"},
      {3, "", true, "rate_limited"},  // the window the buyer before counted
      {4, "", false, "sold_out"},     // stock 3 is gone within the batch
  };
  std::vector<std::string> script_keys{keys::sale(product), stream, keys::paused(product)};
  std::vector<std::string> args{"1", "60000"};
  for (std::size_t i = 0; i < buyers.size(); ++i) {
    const Buyer& buyer = buyers[i];
    std::string lock = keys::user_lock(product, buyer.user);
    std::string subject = "u:" + std::to_string(buyer.user);
    script_keys.insert(script_keys.end(), {lock, keys::idempotency(product, buyer.key),
                                           buyer.counted ? keys::rate_window(subject) : lock});
    OrderEvent event = make_event(product, buyer.user);
    event.request_id = "r" + std::to_string(i);
    std::string flags = std::string(buyer.key.empty() ? "0" : "1") + (buyer.counted ? "1" : "0");
    args.insert(args.end(), {event.request_id, std::to_string(buyer.user), "1", flags, encode_event(event)});
  }
  auto reply = client.eval_script("admit", script_keys, args);
  REQUIRE(reply->type == REDIS_REPLY_ARRAY);
  REQUIRE(reply->elements == buyers.size());
  for (std::size_t i = 0; i < buyers.size(); ++i) {
    INFO("buyer " << i);
    CHECK(std::string(reply->element[i]->str, reply->element[i]->len) == buyers[i].expected);
  }
  CHECK(sale.remaining() == 0);
  CHECK(client.integer({"XLEN", stream}) == 1);  // one entry for the call, an event per accepted buyer
  std::vector<std::string> events = client.events(stream);
  REQUIRE(events.size() == 3);
  std::vector<std::string> ids;
  for (const std::string& text : events) {
    OrderEvent event;
    std::string error;
    REQUIRE(decode_event(text, &event, &error));
    ids.push_back(event.request_id);
  }
  CHECK(ids == std::vector<std::string>{"r0", "r2", "r5"});
  CHECK(client.text({"GET", keys::user_lock(product, 1)}) == "r0");
  CHECK(client.text({"GET", keys::user_lock(product, 2)}) == "r2");
  CHECK(client.text({"GET", keys::user_lock(product, 3)}) == "r5");
  CHECK_FALSE(client.exists(keys::user_lock(product, 4)));
  CHECK(client.text({"TYPE", keys::rate_window("u:3")}) == "string");  // one request counted
}

namespace {

// Writes Redis has made since its last save: each one is in the replication
// stream, so a WAIT on the connection that made it covers everything before.
long long writes_so_far(Client& client) {
  std::string info = client.text({"INFO", "persistence"});
  const std::string field = "rdb_changes_since_last_save:";
  auto at = info.find(field);
  REQUIRE(at != std::string::npos);
  return std::stoll(info.substr(at + field.size()));
}

}  // namespace

TEST_CASE("a call that only replays still writes so that a WAIT behind it covers the replayed admission",
          "[redis][admit][batch]") {
  SaleFixture sale(5);
  auto& [server, stages, client, product] = sale;
  OrderEvent first = make_event(product, 1);
  REQUIRE(stages.admission().admit(AdmitRequest{first, "k"}).status.is_ok());
  const std::string idem = keys::idempotency(product, "k");
  const std::string stored = client.text({"GET", idem});
  const long long ttl = client.integer({"PTTL", idem});

  const std::string lock = keys::user_lock(product, 1);
  OrderEvent again = make_event(product, 1);
  std::vector<std::string> script_keys{
      keys::sale(product), "flash_sale:order_events", keys::paused(product), lock, idem, lock};
  std::vector<std::string> args{"5", "60000", again.request_id, "1", "1", "10", encode_event(again)};
  const long long before = writes_so_far(client);
  auto reply = client.eval_script("admit", script_keys, args);
  REQUIRE(reply->type == REDIS_REPLY_ARRAY);
  REQUIRE(reply->elements == 1);
  CHECK(std::string(reply->element[0]->str, reply->element[0]->len) == "replay:" + first.request_id);
  CHECK(writes_so_far(client) > before);
  CHECK(client.text({"GET", idem}) == stored);  // rewritten as it was
  long long kept = client.integer({"PTTL", idem});
  CHECK(kept > 0);
  CHECK(kept <= ttl);
  CHECK(sale.remaining() == 4);

  // Out of memory that write is the call's first: refused, the call fails with nothing written.
  client.run({"CONFIG", "SET", "maxmemory", "1"});
  auto refused = client.eval_script("admit", script_keys, args);
  client.run({"CONFIG", "SET", "maxmemory", "0"});
  REQUIRE(refused->type == REDIS_REPLY_ERROR);
  CHECK(std::string(refused->str).find("OOM") != std::string::npos);
  CHECK(client.text({"GET", idem}) == stored);
}

TEST_CASE("a refused first write fails the whole batch and writes nothing", "[redis][admit][batch]") {
  SaleFixture sale(5);
  auto& [server, stages, client, product] = sale;
  const std::string stream = "flash_sale:order_events";
  client.run({"CONFIG", "SET", "maxmemory", "1"});
  std::vector<std::string> script_keys{keys::sale(product), stream, keys::paused(product)};
  std::vector<std::string> args{"5", "60000"};
  for (UserId user : {1, 2}) {
    std::string lock = keys::user_lock(product, user);
    script_keys.insert(script_keys.end(), {lock, keys::idempotency(product, ""), lock});
    OrderEvent event = make_event(product, user);
    args.insert(args.end(), {event.request_id, std::to_string(user), "1", "00", encode_event(event)});
  }
  auto reply = client.eval_script("admit", script_keys, args);
  client.run({"CONFIG", "SET", "maxmemory", "0"});
  REQUIRE(reply->type == REDIS_REPLY_ERROR);
  CHECK(std::string(reply->str).find("OOM") != std::string::npos);
  CHECK(sale.remaining() == 5);
  CHECK_FALSE(client.exists(keys::user_lock(product, 1)));
  CHECK_FALSE(client.exists(keys::user_lock(product, 2)));
  CHECK(client.integer({"XLEN", stream}) == 0);
}

}  // namespace flashsale::redis::test
