// One product's stock over several shards (plugins/redis/stock_shards.h) on
// a real redis-server: buyers homed on every shard buy exactly the stock and
// hear "sold out" only once every shard is empty; a transfer between shards
// that a dead process left half-done is finished once, neither lost nor
// doubled; returns, compensation and top-ups land where the protocol says.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "flashsale/clock.h"
#include "redis/keys.h"
#include "redis/stock_shards.h"
#include "redis_fixture.h"

namespace flashsale::redis::test {

namespace {

SaleStock sharded_sale(ProductId product, std::int64_t sellable, int shards) {
  SaleStock stock = open_sale(product, sellable);
  stock.shards = shards;
  return stock;
}

StockLevel level_of(Admission& admission, ProductId product) {
  StockLevel level;
  REQUIRE(admission.stock(product, &level).is_ok());
  return level;
}

std::int64_t sum(const std::vector<std::int64_t>& values) {
  return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

// A user whose home shard of `layout` is `shard`.
UserId user_homed_on(const ShardLayout& layout, int shard, UserId from = 1) {
  UserId user = from;
  while (layout.home(user) != shard) ++user;
  return user;
}

// As a process that died right after lua/stock_transfer_out.lua would leave
// it, once the lease has passed: the transfer's record, dated long ago.
void leave_transfer_behind(Client& client, const ShardLayout& layout, int from, int to, const std::string& id) {
  std::string tag = layout.tag(from);
  auto taken = client.eval_script("stock_transfer_out", {keys::sale_in(tag), keys::transfers(tag)},
                                  {id, std::to_string(to), "1"});
  REQUIRE(taken->type == REDIS_REPLY_INTEGER);
  REQUIRE(taken->integer > 0);
  std::string record = client.text({"HGET", keys::transfers(tag), id});
  std::string count = record.substr(record.find(':') + 1);
  count = count.substr(0, count.find(':'));
  client.run({"HSET", keys::transfers(tag), id, std::to_string(to) + ":" + count + ":" + std::to_string(now_ms() - 600000)});
}

}  // namespace

TEST_CASE("sharded stock: the split is recorded and shown per shard", "[redis][shards]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(sharded_sale(product, 100, 3)).is_ok());
  StockLevel level = level_of(stages.admission(), product);
  CHECK(level.preloaded);
  CHECK(level.remaining == 100);
  CHECK(level.shards == std::vector<std::int64_t>{34, 33, 33});
  CHECK(client.text({"GET", keys::shard_count(product)}) == "3");

  // A preload interrupted after shard 0 and run again with a lower recount
  // loads the missing shards from the first split.
  ProductId half = fresh_product();
  REQUIRE(stages.admission().load_stock(sharded_sale(half, 90, 3)).is_ok());
  ShardLayout layout{half, 3};
  client.run({"DEL", keys::sale_in(layout.tag(1)), keys::sale_in(layout.tag(2))});
  REQUIRE(stages.admission().load_stock(sharded_sale(half, 60, 3)).is_ok());
  CHECK(level_of(stages.admission(), half).shards == std::vector<std::int64_t>{30, 30, 30});

  // A shard outlived the split (the moment between their expiries): the
  // recount cannot tell what it holds, so the missing shards load empty.
  client.run({"DEL", keys::shard_plan(half), keys::sale_in(layout.tag(1)), keys::sale_in(layout.tag(2))});
  REQUIRE(stages.admission().load_stock(sharded_sale(half, 90, 3)).is_ok());
  CHECK(level_of(stages.admission(), half).shards == std::vector<std::int64_t>{30, 0, 0});
  CHECK_FALSE(client.exists(keys::shard_plan(half)));
}

TEST_CASE("sharded stock: buyers homed on every shard buy exactly the stock and sold out comes only when all are empty",
          "[redis][shards]") {
  RedisServer server;
  Stages stages(server, {{"buy.rate.limit", "1000000"}});
  ProductId product = fresh_product();
  const std::int64_t stock = 200;
  REQUIRE(stages.admission().load_stock(sharded_sale(product, stock, 3)).is_ok());

  std::mutex mutex;
  std::set<std::string> accepted;
  std::atomic<int> sold_out{0};
  std::vector<std::string> other;  // under mutex
  std::atomic<UserId> next_user{1};
  std::vector<std::thread> buyers;
  for (int t = 0; t < 8; ++t) {
    buyers.emplace_back([&] {
      for (;;) {
        AdmitRequest request;
        request.event = make_event(product, next_user++, 1);
        AdmitResult result = stages.admission().admit(request);
        if (result.status.code() == Code::sold_out) {
          ++sold_out;
          // Sold out is the truth only once every shard is empty.
          StockLevel level;
          Status read = stages.admission().stock(product, &level);
          if (!read.is_ok() || level.remaining != 0) {
            std::lock_guard lock(mutex);
            other.push_back("sold out with " + std::to_string(level.remaining) + " left " + read.message());
          }
          return;
        }
        std::lock_guard lock(mutex);
        if (!result.status.is_ok()) {
          other.push_back(result.status.message());
          return;
        }
        accepted.insert(result.request_id);
      }
    });
  }
  for (auto& buyer : buyers) buyer.join();
  std::string others;
  for (const std::string& what : other) others += what + "; ";
  INFO(others);
  CHECK(other.empty());
  CHECK(sold_out == 8);
  CHECK(accepted.size() == static_cast<std::size_t>(stock));
  StockLevel level = level_of(stages.admission(), product);
  CHECK(level.remaining == 0);
  CHECK(level.shards == std::vector<std::int64_t>{0, 0, 0});

  std::set<std::string> relayed;
  for (int reads = 0; reads < 50 && relayed.size() < accepted.size(); ++reads) {
    std::vector<OutboxEntry> entries;
    REQUIRE(stages.outbox().read(500, std::chrono::milliseconds(50), &entries).is_ok());
    for (const OutboxEntry& entry : entries) relayed.insert(entry.event.request_id);
  }
  CHECK(relayed == accepted);
}

TEST_CASE("sharded stock: a transfer a dead process left half-done is finished once and neither lost nor doubled",
          "[redis][shards]") {
  RedisServer server;
  Stages stages(server);
  Client client(server);
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(sharded_sale(product, 30, 3)).is_ok());
  ShardLayout layout{product, 3};

  // Died after taking the units out of shard 1 for shard 0.
  leave_transfer_behind(client, layout, 1, 0, "dead-1:0:1");
  // Died after adding shard 2's units to shard 0, before deleting the record.
  leave_transfer_behind(client, layout, 2, 0, "dead-2:0:2");
  std::string record = client.text({"HGET", keys::transfers(layout.tag(2)), "dead-2:0:2"});
  std::string count = record.substr(record.find(':') + 1);
  client.eval_script("stock_transfer_in",
                     {keys::sale_in(layout.tag(0)), keys::transferred_in(layout.tag(0), "dead-2:0:2")},
                     {count.substr(0, count.find(':'))});

  StockLevel level = level_of(stages.admission(), product);
  CHECK(level.remaining == 30);
  CHECK(level.shards == std::vector<std::int64_t>{20, 5, 5});
  CHECK(client.integer({"HLEN", keys::transfers(layout.tag(1))}) == 0);
  CHECK(client.integer({"HLEN", keys::transfers(layout.tag(2))}) == 0);
  CHECK(level_of(stages.admission(), product).shards == std::vector<std::int64_t>{20, 5, 5});  // once

  // And every unit sells.
  int sold = 0;
  for (UserId user = 1; user < 1000; ++user) {
    AdmitRequest request;
    request.event = make_event(product, user, 1);
    AdmitResult result = stages.admission().admit(request);
    if (result.status.code() == Code::sold_out) break;
    REQUIRE(result.status.is_ok());
    ++sold;
  }
  CHECK(sold == 30);
}

TEST_CASE("sharded stock: a failed admission and a cancel give back to the buyer's home shard and a top-up splits",
          "[redis][shards]") {
  RedisServer server;
  Stages stages(server);
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(sharded_sale(product, 30, 3)).is_ok());
  ShardLayout layout{product, 3};
  UserId user = user_homed_on(layout, 2);

  AdmitRequest request;
  request.event = make_event(product, user, 2);
  REQUIRE(stages.admission().admit(request).status.is_ok());
  CHECK(level_of(stages.admission(), product).shards == std::vector<std::int64_t>{10, 10, 8});

  PersistResult failed;
  failed.status = RequestStatus::failed;
  failed.reason = "test";
  REQUIRE(stages.notifier().finish(request.event, failed).is_ok());
  REQUIRE(stages.notifier().finish(request.event, failed).is_ok());  // redelivered: once
  CHECK(level_of(stages.admission(), product).shards == std::vector<std::int64_t>{10, 10, 10});
  AdmitRequest again;
  again.event = make_event(product, user, 1);
  REQUIRE(stages.admission().admit(again).status.is_ok());  // the lock was released

  StockReturn cancel;
  cancel.product_id = product;
  cancel.user_id = user;
  cancel.order_id = 77;
  cancel.request_id = again.event.request_id;
  cancel.quantity = 1;
  REQUIRE(stages.admission().return_stock(cancel).is_ok());
  REQUIRE(stages.admission().return_stock(cancel).is_ok());
  CHECK(level_of(stages.admission(), product).shards == std::vector<std::int64_t>{10, 10, 10});

  StockReturn top_up;
  top_up.product_id = product;
  top_up.top_up_id = 5;
  top_up.quantity = 7;
  REQUIRE(stages.admission().return_stock(top_up).is_ok());
  REQUIRE(stages.admission().return_stock(top_up).is_ok());
  StockLevel level = level_of(stages.admission(), product);
  CHECK(level.shards == std::vector<std::int64_t>{13, 12, 12});
  CHECK(sum(level.shards) == level.remaining);

  // A shard without stock: the shards with stock take their parts once, and
  // the top-up stays pending (not_preloaded) for the one without.
  Client client(server);
  client.run({"DEL", keys::sale_in(layout.tag(2))});
  top_up.top_up_id = 6;
  top_up.quantity = 6;
  CHECK(stages.admission().return_stock(top_up).code() == Code::not_preloaded);
  CHECK(stages.admission().return_stock(top_up).code() == Code::not_preloaded);
  CHECK(client.integer({"HGET", keys::sale_in(layout.tag(0)), "remaining"}) == 15);
  CHECK(client.integer({"HGET", keys::sale_in(layout.tag(1)), "remaining"}) == 14);
}

TEST_CASE("sharded stock: a pause holds on every shard, set before the preload or after", "[redis][shards]") {
  RedisServer server;
  Stages stages(server);
  ProductId before = fresh_product();
  REQUIRE(stages.admission().set_paused(before, true).is_ok());
  REQUIRE(stages.admission().load_stock(sharded_sale(before, 30, 3)).is_ok());
  ProductId after = fresh_product();
  REQUIRE(stages.admission().load_stock(sharded_sale(after, 30, 3)).is_ok());
  REQUIRE(stages.admission().set_paused(after, true).is_ok());
  for (ProductId product : {before, after}) {
    for (UserId user = 1; user <= 12; ++user) {
      AdmitRequest request;
      request.event = make_event(product, user, 1);
      CHECK(stages.admission().admit(request).status.code() == Code::sale_paused);
    }
    CHECK(level_of(stages.admission(), product).paused);
    REQUIRE(stages.admission().set_paused(product, false).is_ok());
    AdmitRequest request;
    request.event = make_event(product, 99, 1);
    CHECK(stages.admission().admit(request).status.is_ok());
  }
}

}  // namespace flashsale::redis::test
