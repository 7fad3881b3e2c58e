// The conformance suite: one set of tests, written once against the stage
// interfaces in flashsale/*.h, that every backend of a stage must pass. The
// in-tree backends (memory, sqlite, redis, kafka) pass the same tests. It
// loads backends the way the server does, through PluginHost and a Config
// resolved from the environment.
//
// Plugin authors run it as a tool (conformance_main.cpp, docs/plugin-guide.md "Plugin
// author's guide"), installed beside the server:
//
//   flashsale-conformance --plugin /path/flashsale-mystore.so --stage persist
//       --set mystore.path={tmp}/store.log
//
// which puts the plugin's family on the chosen stages and memory on the
// others, and runs the test cases tagged with those stages. The command line
// only adds environment variables (STAGE_*, PLUGIN_DIR, PLUGIN_<FAMILY>_PATH,
// one per --set key) over the process's, so without options (as ctest runs
// it) the backends are chosen by environment variables alone:
//
//   STAGE_RATELIMIT STAGE_ADMIT STAGE_OUTBOX STAGE_RELAY STAGE_PERSIST STAGE_NOTIFY
//                   family per stage (admit, outbox and notify: one family)
//   PLUGIN_DIR      where flashsale-<family>.so files are (default <exe>/../plugins)
//   PLUGIN_<FAMILY>_PATH  the .so of a family that is not in-tree
//   REDIS_ADDR, KAFKA_BROKERS, ...  whatever your backend reads
//
// Each test case gets a fresh temp dir: "{tmp}" in a value (of --set or of
// a variable) stands for it, so a backend keeping files starts each test
// case empty. The suite sets the few settings its tests depend on itself
// (small rate limit, short outbox claim time, few deliveries, DB_PATH in the
// temp dir), see Backends below. It never assumes a fresh store: products,
// users and request ids are random per test case, and entries or messages
// left by other runs are skipped, so it can run against a shared Redis or
// Kafka (run it serially there: ctest -j1).
//
// Test cases are tagged by the stage they check: [ratelimit] [admit]
// [outbox] [notify] (the last two also use admit, their family's) [relay]
// [persist]. The order lifecycle's cases (lifecycle_conformance.cpp: the
// state machine, payments racing the expiry, once-only stock returns) carry
// the tag of the stage they check, [persist] or [admit]. [restart] cases
// (also [persist]) stop the backends and start them again on the same
// settings and temp dir, and expect everything persisted to be there: a
// family that keeps nothing across a restart (memory) excludes them with
// '~[restart]'. In environment mode, unset stages default to the server's
// defaults (redis, kafka, sqlite), so set all six:
//
//   export STAGE_RATELIMIT=memory STAGE_ADMIT=memory STAGE_OUTBOX=memory
//   export STAGE_RELAY=memory STAGE_NOTIFY=memory STAGE_PERSIST=mystore
//   export PLUGIN_DIR=<build>/plugins PLUGIN_MYSTORE_PATH=/path/flashsale-mystore.so
//   <build>/bin/flashsale-conformance '[persist]'
//
// (a family providing admit must also provide outbox and notify: run
// '[admit],[outbox],[notify]'). ctest runs the in-tree set as "memory:*" and
// "sqlite-persist:*" (tests/conformance/CMakeLists.txt).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "flashsale/status.h"
#include "host/config.h"
#include "host/plugin_host.h"
#include "support/temp_dir.h"

namespace flashsale::conformance {

// The settings the tests are written for; Backends applies them over the
// environment's. A test case may pass more (or other values) to Backends.
inline constexpr std::int64_t kRateLimit = 5;
inline constexpr std::chrono::milliseconds kClaimIdle{200};
inline constexpr std::uint32_t kMaxDeliveries = 3;

using Overrides = std::map<std::string, std::string>;  // setting key -> value

// The variables the tool's command line adds over the process environment
// (set once by main, before any test case runs); values may hold "{tmp}".
std::map<std::string, std::string>& command_line_environment();

// A fresh PluginHost and its six stages for one test case, with a fresh temp
// dir, or `dir` to start again on the state of an earlier Backends (a
// restart: destroy the earlier one first, as a process would stop).
class Backends {
 public:
  explicit Backends(const Overrides& overrides = {}, std::shared_ptr<test::TempDir> dir = nullptr);
  ~Backends();
  Backends(const Backends&) = delete;
  Backends& operator=(const Backends&) = delete;

  const std::shared_ptr<test::TempDir>& dir() const { return dir_; }

  RateLimiter& ratelimit() { return *stages_.ratelimit; }
  Admission& admission() { return *stages_.admission; }
  Outbox& outbox() { return *stages_.outbox; }
  Relay& relay() { return *stages_.relay; }
  OrderStore& store() { return *stages_.store; }
  Notifier& notifier() { return *stages_.notifier; }

 private:
  std::shared_ptr<test::TempDir> dir_;
  Config config_;  // the host keeps a reference: declared before it
  std::unique_ptr<PluginHost> host_;
  Stages stages_;
};

// A random id in [2^40, 2^41): no earlier run or other test case uses it.
// Consecutive ids from one base (base + i) are as safe.
std::int64_t random_id();
std::string random_request_id();

// An event with every field set to something recognisable.
OrderEvent make_event(ProductId product_id, UserId user_id, std::int32_t quantity = 1);
// Stock for a sale that is open now (window of an hour either side).
SaleStock open_sale(ProductId product_id, std::int64_t sellable);

void require_same_event(const OrderEvent& actual, const OrderEvent& expected);

// A product preloaded with some stock on sale now, and a user to buy it.
struct OpenSale {
  ProductId product = 0;
  UserId user = 0;
};
OpenSale preload(Admission& admission, std::int64_t sellable);
AdmitResult admit(Admission& admission, const OrderEvent& event, const std::string& idempotency_key = {});
// The stock left of a preloaded product.
std::int64_t remaining(Admission& admission, ProductId product_id);

// A product's totals; fails the test when sales() does.
ProductSales sales_of(OrderStore& store, ProductId id);
// The pending stock returns (cancelled orders' and top-ups') that `keep` accepts.
std::vector<StockReturn> pending_returns_where(OrderStore& store, const std::function<bool(const StockReturn&)>& keep);

// Reads the outbox until an entry for each request id has been seen (or the
// timeout passes) and returns those entries; entries of other request ids are
// left alone (unacked).
std::vector<OutboxEntry> read_entries(Outbox& outbox, const std::set<std::string>& request_ids,
                                      std::chrono::milliseconds timeout);
// Reads the outbox for `duration` and returns the entries of these request ids.
std::vector<OutboxEntry> read_entries_for(Outbox& outbox, const std::set<std::string>& request_ids,
                                          std::chrono::milliseconds duration);
// The same for the relay; neither commits.
std::vector<OrderEvent> poll_events(Relay& relay, const std::set<std::string>& request_ids,
                                    std::chrono::milliseconds timeout);
std::vector<OrderEvent> poll_events_for(Relay& relay, const std::set<std::string>& request_ids,
                                        std::chrono::milliseconds duration);

std::string describe(const Status& status);

}  // namespace flashsale::conformance

// REQUIRE that a Status-returning expression is ok, showing code and message.
#define REQUIRE_OK(expr)                                                              \
  do {                                                                                \
    ::flashsale::Status conformance_status_ = (expr);                                 \
    INFO(#expr << " -> " << ::flashsale::conformance::describe(conformance_status_)); \
    REQUIRE(conformance_status_.is_ok());                                             \
  } while (false)

// REQUIRE that a Status (or anything with .code()) carries `expected`.
#define REQUIRE_CODE(status, expected)                                                                            \
  do {                                                                                                            \
    const ::flashsale::Status& conformance_status_ = (status);                                                    \
    INFO(#status << " -> " << ::flashsale::conformance::describe(conformance_status_));                           \
    REQUIRE(::flashsale::code_name(conformance_status_.code()) == std::string(::flashsale::code_name(expected))); \
  } while (false)
