// The redis family's stages on a real 3-master Redis Cluster
// (tests/support/redis_cluster.h): commands follow a product's slot while it
// migrates (TRYAGAIN, ASK, then MOVED in flight), and a master killed mid-run
// is failed over to its replica without a restart. Buyers resend an unknown
// outcome with the same idempotency key, as clients are told to, so every
// buyer ends with a definite answer and the books can be checked exactly:
// accepted = stock sold = outbox entries, nobody twice.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "redis/cluster.h"
#include "redis/keys.h"
#include "redis/scripts.h"
#include "redis_fixture.h"
#include "support/redis_cluster.h"
#include "support/redis_command.h"

namespace flashsale::redis::test {

namespace {

using flashsale::test::RedisCluster;
using flashsale::test::RedisClusterOptions;
using flashsale::test::RedisReply;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

Settings cluster_settings(const RedisCluster& cluster, const std::map<std::string, std::string>& overrides = {}) {
  Settings settings;
  settings.set("redis.addr", cluster.seeds());
  settings.set("outbox.claim.idle.ms", "200");
  settings.set("outbox.max.deliveries", "100");
  settings.set("redis.command.timeout.ms", "2000");
  for (const auto& [key, value] : overrides) settings.set(key, value);
  return settings;
}

// What the buyers saw.
struct Ledger {
  std::mutex mutex;
  std::set<std::string> accepted;  // request ids answered ok
  std::set<UserId> buyers;         // users answered ok
  std::atomic<int> sold_out{0};
  std::atomic<int> gave_up{0};  // no definite answer within the deadline
  std::atomic<int> unexpected{0};
};

// One buyer: admits until the answer is definite, resending an unknown
// outcome (unavailable) with the same idempotency key.
void buy(Admission& admission, ProductId product, UserId user, Ledger& ledger) {
  AdmitRequest request;
  request.event = make_event(product, user, 1);
  request.idempotency_key = "k" + std::to_string(user);
  auto deadline = steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    AdmitResult result = admission.admit(request);
    if (result.status.is_ok()) {
      std::lock_guard lock(ledger.mutex);
      ledger.accepted.insert(result.request_id);
      if (!ledger.buyers.insert(user).second) ++ledger.unexpected;
      return;
    }
    if (result.status.code() == Code::sold_out) {
      ++ledger.sold_out;
      return;
    }
    if (result.status.code() != Code::unavailable) {
      ++ledger.unexpected;
      return;
    }
    if (steady_clock::now() > deadline) {
      ++ledger.gave_up;
      return;
    }
    std::this_thread::sleep_for(milliseconds(20));  // a client's back-off before its resend
  }
}

// Six buyers buying one product, user after user, until one hears sold out.
class Crowd {
 public:
  Crowd(Admission& admission, ProductId product) {
    for (int t = 0; t < 6; ++t) {
      threads_.emplace_back([this, &admission, product] {
        while (ledger.sold_out == 0) buy(admission, product, next_user_++, ledger);
      });
    }
  }
  ~Crowd() { join(); }

  std::size_t sold() {
    std::lock_guard lock(ledger.mutex);
    return ledger.accepted.size();
  }
  // Until `count` are sold (or sold out, or 30 s).
  void wait_until_sold(std::size_t count) {
    auto deadline = steady_clock::now() + std::chrono::seconds(30);
    while (sold() < count && ledger.sold_out == 0 && steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  void join() {
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  Ledger ledger;

 private:
  std::atomic<UserId> next_user_{1};
  std::vector<std::thread> threads_;
};

// Reads and acks the whole outbox; the request ids it held.
std::multiset<std::string> drain(Outbox& outbox, std::size_t expected) {
  std::multiset<std::string> seen;
  auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (seen.size() < expected && steady_clock::now() < deadline) {
    std::vector<OutboxEntry> entries;
    if (!outbox.read(500, milliseconds(100), &entries).is_ok()) continue;
    std::vector<std::string> ids;
    for (const OutboxEntry& entry : entries) {
      seen.insert(entry.event.request_id);
      ids.push_back(entry.id);
    }
    outbox.ack(ids);
  }
  std::vector<OutboxEntry> more;  // nothing beyond
  outbox.read(500, milliseconds(300), &more);
  for (const OutboxEntry& entry : more) seen.insert(entry.event.request_id);
  return seen;
}

std::int64_t remaining(Admission& admission, ProductId product) {
  StockLevel level;
  REQUIRE(admission.stock(product, &level).is_ok());
  return level.remaining;
}

// One command on the master serving `key`'s slot.
RedisReply on_key(const RedisCluster& cluster, const std::string& key, const std::vector<std::string>& args) {
  return cluster.command(cluster.master_for_slot(static_cast<int>(key_slot(key))), args);
}

}  // namespace

TEST_CASE("redis cluster: admissions go on while the product's slot migrates with ASK and MOVED in flight",
          "[redis][cluster]") {
  RedisCluster cluster;
  Stages stages(cluster_settings(cluster));
  const std::int64_t stock = 300;
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(product, stock)).is_ok());
  const int slot = flashsale::test::key_slot("{p:" + std::to_string(product) + "}");
  const std::size_t from = cluster.master_for_slot(slot);
  std::size_t to = from;
  for (std::size_t master : cluster.masters()) {
    if (master != from) to = master;
  }

  Crowd crowd(stages.admission(), product);
  Ledger& ledger = crowd.ledger;
  crowd.wait_until_sold(50);
  // A few keys at a time while buyers keep buying: the slot's keys are split
  // over both nodes for a while, when Redis answers an admission (which
  // touches several keys, some new) TRYAGAIN or ASK; then the slot moves and
  // the old owner answers MOVED. Redis Cluster cannot run a multi-key script
  // over a slot split in two, so buys wait (and resend) until it is whole.
  cluster.begin_migration(slot, from, to);
  std::size_t moved_keys = 0;
  for (std::size_t moved = 1; moved > 0;) {
    moved = cluster.migrate_keys(slot, from, to, 5);
    moved_keys += moved;
  }
  // Every key is on the importing node, the slot still the old owner's: a
  // read of the stock is answered ASK there and followed behind ASKING.
  StockLevel level;
  REQUIRE(stages.admission().stock(product, &level).is_ok());
  CHECK(level.preloaded);
  CHECK(cluster.command(to, {"INFO", "commandstats"}).text.find("cmdstat_asking:") != std::string::npos);
  cluster.finish_migration(slot, to);
  crowd.join();

  CHECK(moved_keys > 0);
  CHECK(ledger.unexpected == 0);
  CHECK(ledger.gave_up == 0);
  CHECK(ledger.accepted.size() == static_cast<std::size_t>(stock));
  CHECK(remaining(stages.admission(), product) == 0);
  CHECK(cluster.master_for_slot(slot) == to);
  std::multiset<std::string> relayed = drain(stages.outbox(), ledger.accepted.size());
  CHECK(relayed.size() == ledger.accepted.size());
  CHECK(std::set<std::string>(relayed.begin(), relayed.end()) == ledger.accepted);

  // The locks moved with the slot: an early buyer is still refused.
  AdmitRequest again;
  again.event = make_event(product, *ledger.buyers.begin(), 1);
  CHECK(stages.admission().admit(again).status.code() == Code::already_purchased);
}

TEST_CASE("redis cluster: a master killed mid-run fails over and no admission acknowledged with WAIT is lost",
          "[redis][cluster][failover]") {
  RedisCluster cluster(RedisClusterOptions{3, 1, false, 1000});
  Stages stages(cluster_settings(cluster, {{"redis.wait.replicas", "1"}, {"redis.wait.timeout.ms", "500"}}));
  const std::int64_t stock = 400;
  ProductId product = fresh_product();
  REQUIRE(stages.admission().load_stock(open_sale(product, stock)).is_ok());
  const int slot = flashsale::test::key_slot("{p:" + std::to_string(product) + "}");
  const std::size_t master = cluster.master_for_slot(slot);

  Crowd crowd(stages.admission(), product);
  Ledger& ledger = crowd.ledger;
  crowd.wait_until_sold(100);
  REQUIRE(crowd.sold() >= 100);
  cluster.kill_node(master);  // in flight: admissions, WAITs, the outbox reader's calls
  std::size_t promoted = cluster.wait_for_failover(master);
  // The promoted master has no replica until the old one rejoins as one:
  // until then WAIT cannot confirm, and buys answer unavailable.
  cluster.restart_node(master);
  crowd.join();

  CHECK(cluster.master_for_slot(slot) == promoted);
  CHECK(ledger.unexpected == 0);
  CHECK(ledger.gave_up == 0);
  CHECK(ledger.accepted.size() == static_cast<std::size_t>(stock));
  CHECK(remaining(stages.admission(), product) == 0);
  // Every acknowledged admission survived on the promoted master, once.
  std::multiset<std::string> relayed = drain(stages.outbox(), ledger.accepted.size());
  CHECK(relayed.size() == ledger.accepted.size());
  CHECK(std::set<std::string>(relayed.begin(), relayed.end()) == ledger.accepted);
}

TEST_CASE(
    "redis cluster: the outbox finds new products' streams without a restart and visits a bounded number per read",
    "[redis][cluster][outbox]") {
  RedisCluster cluster;
  Stages stages(cluster_settings(cluster));
  // The reader exists before any product does.
  std::vector<OutboxEntry> entries;
  REQUIRE(stages.outbox().read(100, milliseconds(0), &entries).is_ok());
  CHECK(entries.empty());

  const int products = 40;  // more than the 32 quiet streams one read visits
  std::set<std::string> admitted;
  for (int i = 0; i < products; ++i) {
    ProductId product = fresh_product();
    REQUIRE(stages.admission().load_stock(open_sale(product, 5)).is_ok());
    AdmitRequest request;
    request.event = make_event(product, 1, 1);
    REQUIRE(stages.admission().admit(request).status.is_ok());
    admitted.insert(request.event.request_id);
  }
  // Found once the registry is read again (every second).
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (entries.empty() && steady_clock::now() < deadline) {
    REQUIRE(stages.outbox().read(1000, milliseconds(50), &entries).is_ok());
  }
  CHECK(entries.size() == 32);
  std::set<std::string> read;
  std::vector<std::string> ids;
  for (const OutboxEntry& entry : entries) {
    read.insert(entry.event.request_id);
    ids.push_back(entry.id);
    CHECK(entry.id.rfind("p:" + std::to_string(entry.event.product_id) + ".", 0) == 0);
  }
  REQUIRE(stages.outbox().ack(ids).is_ok());
  entries.clear();
  REQUIRE(stages.outbox().read(1000, milliseconds(0), &entries).is_ok());
  for (const OutboxEntry& entry : entries) read.insert(entry.event.request_id);
  CHECK(read == admitted);
  OutboxStats stats;
  REQUIRE(stages.outbox().stats(&stats).is_ok());
  CHECK(stats.pending == static_cast<std::uint64_t>(products - 32));
}

TEST_CASE(
    "redis cluster: a spent product's stream leaves the registry, an unfinished or live one stays, a new sale "
    "registers it again",
    "[redis][cluster][outbox][registry]") {
  RedisCluster cluster;
  const std::string base = "flash_sale:order_events";
  const std::string registry = keys::stream_registry(base);
  auto stream_of = [&](ProductId product) { return keys::tagged_stream(base, keys::product_tag(product)); };
  auto registered = [&](ProductId product) {
    return on_key(cluster, registry, {"ZSCORE", registry, stream_of(product)}).type != RedisReply::Type::nil;
  };
  auto exists = [&](const std::string& key) { return on_key(cluster, key, {"EXISTS", key}).text == "1"; };

  auto reader = std::make_unique<Stages>(cluster_settings(cluster));
  // spent: sold, relayed and acked; pending: read, never acked; dead: its
  // only entry dead-lettered; live: sold and relayed, its sale still on.
  ProductId spent = fresh_product(), pending = fresh_product(), dead = fresh_product(), live = fresh_product();
  for (ProductId product : {spent, pending, dead, live}) {
    REQUIRE(reader->admission().load_stock(open_sale(product, 5, product == live ? 3600 : 1)).is_ok());
    CHECK(registered(product));
  }
  for (ProductId product : {spent, pending, live}) {
    AdmitRequest request;
    request.event = make_event(product, 1, 1);
    REQUIRE(reader->admission().admit(request).status.is_ok());
  }
  REQUIRE(on_key(cluster, stream_of(dead), {"XADD", stream_of(dead), "*", "event", "not an event"}).type ==
          RedisReply::Type::bulk);
  std::vector<OutboxEntry> entries;
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (entries.size() < 3 && steady_clock::now() < deadline) {
    REQUIRE(reader->outbox().read(100, milliseconds(50), &entries).is_ok());
  }
  REQUIRE(entries.size() == 3);
  std::vector<std::string> acks;
  for (const OutboxEntry& entry : entries) {
    if (entry.event.product_id != pending) acks.push_back(entry.id);
  }
  REQUIRE(reader->outbox().ack(acks).is_ok());
  REQUIRE(on_key(cluster, keys::dead_letters(stream_of(dead)), {"XLEN", keys::dead_letters(stream_of(dead))}).text ==
          "1");

  // Dead letters of `spent` replayed earlier: the total must outlive its stream.
  const std::string spent_replays = keys::dead_letter_replays(stream_of(spent));
  on_key(cluster, spent_replays, {"SET", spent_replays, "3"});

  // The 1 s sales expire; a reader starting now retires what is spent.
  deadline = steady_clock::now() + std::chrono::seconds(10);
  while ((exists(keys::sale(spent)) || exists(keys::sale(pending)) || exists(keys::sale(dead))) &&
         steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));  // a poll interval: the loop waits for the expiry itself
  }
  REQUIRE_FALSE(exists(keys::sale(spent)));
  REQUIRE_FALSE(exists(keys::sale(pending)));
  REQUIRE_FALSE(exists(keys::sale(dead)));
  entries.clear();
  REQUIRE(reader->outbox().read(100, milliseconds(0), &entries).is_ok());  // its registry read, just now
  auto fresh = std::make_unique<Stages>(cluster_settings(cluster));
  CHECK_FALSE(registered(spent));
  CHECK_FALSE(exists(stream_of(spent)));
  CHECK(registered(pending));
  CHECK(registered(dead));
  CHECK(registered(live));
  OutboxStats stats;
  REQUIRE(fresh->outbox().stats(&stats).is_ok());
  CHECK(stats.pending == 1);
  CHECK(stats.dead_lettered == 1);
  CHECK_FALSE(exists(spent_replays));
  CHECK(stats.replayed == 3);  // carried over to the retired streams' total

  // The first reader still lists the retired stream until its next registry
  // read: reading it must not bring it back.
  entries.clear();
  REQUIRE(reader->outbox().read(100, milliseconds(0), &entries).is_ok());
  CHECK_FALSE(exists(stream_of(spent)));

  // The registry's compare-and-remove keeps a stream registered again since
  // its score was read.
  std::string score = on_key(cluster, registry, {"ZSCORE", registry, stream_of(live)}).text;
  std::string remove_text;
  for (const LuaSource* source = kLuaSources; source->name != nullptr; ++source) {
    if (std::string(source->name) == "registry_remove") remove_text = source->text;
  }
  REQUIRE_FALSE(remove_text.empty());
  CHECK(on_key(cluster, registry, {"EVAL", remove_text, "1", registry, stream_of(live), score + "1"}).text == "0");
  CHECK(registered(live));

  // A new sale of the spent product is registered again and read.
  REQUIRE(fresh->admission().load_stock(open_sale(spent, 5)).is_ok());
  CHECK(registered(spent));
  AdmitRequest again;
  again.event = make_event(spent, 2, 1);
  REQUIRE(fresh->admission().admit(again).status.is_ok());
  auto read_again = [&] {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const OutboxEntry& entry) { return entry.event.request_id == again.event.request_id; });
  };
  entries.clear();  // the never-acked entry of `pending` comes back too, claimed
  deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!read_again() && steady_clock::now() < deadline) {
    REQUIRE(fresh->outbox().read(100, milliseconds(50), &entries).is_ok());
  }
  CHECK(read_again());
}

TEST_CASE("redis cluster: streams an earlier version registered in a set are read after an upgrade",
          "[redis][cluster][outbox][registry]") {
  RedisCluster cluster;
  const std::string base = "flash_sale:order_events";
  const std::string registry = keys::stream_registry(base), old_registry = base + ":streams";
  Stages before(cluster_settings(cluster));
  ProductId product = fresh_product();
  REQUIRE(before.admission().load_stock(open_sale(product, 5)).is_ok());
  // As the earlier version left it: the stream in the set only.
  const std::string stream = keys::tagged_stream(base, keys::product_tag(product));
  on_key(cluster, registry, {"ZREM", registry, stream});
  on_key(cluster, old_registry, {"SADD", old_registry, stream});
  AdmitRequest request;
  request.event = make_event(product, 1, 1);
  REQUIRE(before.admission().admit(request).status.is_ok());

  Stages upgraded(cluster_settings(cluster));
  CHECK(on_key(cluster, registry, {"ZSCORE", registry, stream}).type != RedisReply::Type::nil);
  std::vector<OutboxEntry> entries;
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (entries.empty() && steady_clock::now() < deadline) {
    REQUIRE(upgraded.outbox().read(100, milliseconds(50), &entries).is_ok());
  }
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].event.request_id == request.event.request_id);
}

TEST_CASE("redis cluster: the family's key slots are Redis's and its redirects parse", "[redis][cluster]") {
  RedisCluster cluster;
  for (const std::string& key :
       std::vector<std::string>{"", "a", "123456789", "fs:{p:42}:sale", "fs:{p:42:s:2}:lock:7", "{}x", "x{}{y}",
                                "order_events{p:7}", "{r:abc}", "no}brace{", std::string("bin\0ary", 7)}) {
    INFO(key);
    CHECK(static_cast<long long>(key_slot(key)) == std::stoll(cluster.command(0, {"CLUSTER", "KEYSLOT", key}).text));
  }
  Redirect redirect;
  REQUIRE(parse_redirect(Status(Code::internal, "redis node 127.0.0.1:7000: MOVED 3999 127.0.0.1:6381"), &redirect));
  CHECK(!redirect.ask);
  CHECK(redirect.slot == 3999);
  CHECK(redirect.to.text() == "127.0.0.1:6381");
  REQUIRE(parse_redirect(Status(Code::internal, "x: ASK 1 ::1:7002"), &redirect));
  CHECK(redirect.ask);
  CHECK(redirect.to.host == "::1");
  CHECK(!parse_redirect(Status(Code::internal, "x: MOVED 16384 h:1"), &redirect));
  CHECK(!parse_redirect(Status(Code::internal, "x: MOVED 1 h:0"), &redirect));
  CHECK(!parse_redirect(Status(Code::internal, "x: ERR MOVED"), &redirect));
  CHECK(!parse_redirect(Status::ok(), &redirect));
}

TEST_CASE("redis cluster: a mode that does not match the server, or a bad redis.cluster, stops start-up with one line",
          "[redis][cluster]") {
  RedisCluster cluster;
  Settings one = cluster_settings(cluster);
  one.set("redis.addr", "127.0.0.1:" + std::to_string(cluster.port(0)));  // one address: not a cluster by itself
  std::string error = start_error(one);
  CHECK(error.find("redis.addr (REDIS_ADDR)") != std::string::npos);
  CHECK(error.find("set redis.cluster = true") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);

  one.set("redis.cluster", "true");
  CHECK(start_error(one).empty());

  RedisServer plain;
  Settings plain_settings = settings_for(plain, {{"redis.cluster", "true"}});
  error = start_error(plain_settings);
  CHECK(error.find("redis.addr (REDIS_ADDR)") != std::string::npos);
  CHECK(error.find("cluster support disabled") != std::string::npos);

  plain_settings.set("redis.cluster", "yes");
  CHECK(start_error(plain_settings).find("redis.cluster (REDIS_CLUSTER)") != std::string::npos);
  Settings db = cluster_settings(cluster);
  db.set("redis.db", "1");
  CHECK(start_error(db).find("redis.db (REDIS_DB)") != std::string::npos);
}

}  // namespace flashsale::redis::test
