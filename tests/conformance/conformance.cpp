// The conformance suite's fixture: the backends under test, made from the
// environment through the real PluginHost, and the helpers every stage's
// tests share. See conformance.h for how to run the suite.
#include "conformance.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>

#include "flashsale/clock.h"

extern char** environ;

namespace flashsale::conformance {

namespace {

std::string exe_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

// Every "{tmp}" in value replaced by the test case's temp dir.
std::string with_tmp(std::string value, const std::string& tmp) {
  const std::string placeholder = "{tmp}";
  for (auto at = value.find(placeholder); at != std::string::npos; at = value.find(placeholder, at + tmp.size())) {
    value.replace(at, placeholder.size(), tmp);
  }
  return value;
}

// The process environment with the command line's variables over it, each
// "{tmp}" replaced, as NAME=value strings.
std::vector<std::string> test_case_environment(const std::string& tmp) {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text = *entry;
    auto equals = text.find('=');
    if (equals != std::string::npos) variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : command_line_environment()) variables[name] = value;
  std::vector<std::string> entries;
  for (const auto& [name, value] : variables) entries.push_back(name + "=" + with_tmp(value, tmp));
  return entries;
}

std::mt19937_64& random_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

std::map<std::string, std::string>& command_line_environment() {
  static std::map<std::string, std::string> variables;
  return variables;
}

Backends::Backends(const Overrides& overrides, std::shared_ptr<test::TempDir> dir)
    : dir_(dir != nullptr ? std::move(dir) : std::make_shared<test::TempDir>()) {
  std::vector<std::string> entries = test_case_environment(dir_->path());
  std::vector<char*> environment;
  for (std::string& entry : entries) environment.push_back(entry.data());
  environment.push_back(nullptr);
  config_ = load_config("", environment.data(), exe_dir());
  Settings& settings = config_.settings;
  settings.set("db.path", dir_->file("conformance.db"));
  settings.set("buy.rate.limit", std::to_string(kRateLimit));
  settings.set("buy.rate.window.sec", "60");
  settings.set("outbox.claim.idle.ms", std::to_string(kClaimIdle.count()));
  settings.set("outbox.max.deliveries", std::to_string(kMaxDeliveries));
  settings.set("request.state.ttl.sec", "3600");
  for (const auto& [key, value] : overrides) settings.set(key, with_tmp(value, dir_->path()));
  host_ = std::make_unique<PluginHost>(config_);
  stages_ = host_->make_stages();
}

// Stages first (their deleters hold the families), then the host, then the
// config it refers to, then (unless a restart shares it) the temp dir the
// store's files live in.
Backends::~Backends() {
  stages_ = Stages{};
}

std::int64_t random_id() {
  return (std::int64_t{1} << 40) + static_cast<std::int64_t>(random_engine()() & ((std::uint64_t{1} << 40) - 1));
}

std::string random_request_id() {
  std::ostringstream id;
  id << "conformance-" << std::hex << random_engine()();
  return id.str();
}

OrderEvent make_event(ProductId product_id, UserId user_id, std::int32_t quantity) {
  OrderEvent event;
  event.request_id = random_request_id();
  event.user_id = user_id;
  event.product_id = product_id;
  event.quantity = quantity;
  event.unit_price = 12345;
  event.accepted_ms = now_ms();
  return event;
}

SaleStock open_sale(ProductId product_id, std::int64_t sellable) {
  UnixMillis now = now_ms();
  return SaleStock{product_id, sellable, now - 3600 * 1000, now + 3600 * 1000, 3600};
}

void require_same_event(const OrderEvent& actual, const OrderEvent& expected) {
  CHECK(actual.request_id == expected.request_id);
  CHECK(actual.user_id == expected.user_id);
  CHECK(actual.product_id == expected.product_id);
  CHECK(actual.quantity == expected.quantity);
  CHECK(actual.unit_price == expected.unit_price);
  CHECK(actual.accepted_ms == expected.accepted_ms);
}

OpenSale preload(Admission& admission, std::int64_t sellable) {
  OpenSale sale{random_id(), random_id()};
  REQUIRE_OK(admission.load_stock(open_sale(sale.product, sellable)));
  return sale;
}

AdmitResult admit(Admission& admission, const OrderEvent& event, const std::string& idempotency_key) {
  return admission.admit(AdmitRequest{event, idempotency_key});
}

std::int64_t remaining(Admission& admission, ProductId product_id) {
  StockLevel level;
  REQUIRE_OK(admission.stock(product_id, &level));
  REQUIRE(level.preloaded);
  return level.remaining;
}

ProductSales sales_of(OrderStore& store, ProductId id) {
  ProductSales sales;
  REQUIRE_OK(store.sales(id, &sales));
  return sales;
}

std::vector<StockReturn> pending_returns_where(OrderStore& store, const std::function<bool(const StockReturn&)>& keep) {
  std::vector<StockReturn> all;
  REQUIRE_OK(store.pending_stock_returns(1'000'000, {}, &all));
  std::vector<StockReturn> kept;
  for (const StockReturn& r : all) {
    if (keep(r)) kept.push_back(r);
  }
  return kept;
}

namespace {

using Steady = std::chrono::steady_clock;
constexpr std::size_t kBatch = 256;
constexpr std::chrono::milliseconds kWait{100};

const std::string& request_id_of(const OutboxEntry& entry) {
  return entry.event.request_id;
}
const std::string& request_id_of(const OrderEvent& event) {
  return event.request_id;
}

// Fetches batches until `until` (or, with stop_when_all_seen, until every
// request id was seen) and keeps the items of these request ids.
template <typename Item, typename Fetch>
std::vector<Item> collect(const std::set<std::string>& request_ids, std::chrono::milliseconds duration,
                          bool stop_when_all_seen, Fetch fetch) {
  std::vector<Item> ours;
  std::set<std::string> seen;
  Steady::time_point until = Steady::now() + duration;
  while (!(stop_when_all_seen && seen.size() == request_ids.size()) && Steady::now() < until) {
    std::vector<Item> batch;
    REQUIRE_OK(fetch(&batch));
    for (Item& item : batch) {
      if (request_ids.count(request_id_of(item)) == 0) continue;
      seen.insert(request_id_of(item));
      ours.push_back(std::move(item));
    }
  }
  return ours;
}

}  // namespace

std::vector<OutboxEntry> read_entries(Outbox& outbox, const std::set<std::string>& request_ids,
                                      std::chrono::milliseconds timeout) {
  return collect<OutboxEntry>(request_ids, timeout, true,
                              [&](auto* batch) { return outbox.read(kBatch, kWait, batch); });
}

std::vector<OutboxEntry> read_entries_for(Outbox& outbox, const std::set<std::string>& request_ids,
                                          std::chrono::milliseconds duration) {
  return collect<OutboxEntry>(request_ids, duration, false,
                              [&](auto* batch) { return outbox.read(kBatch, kWait, batch); });
}

std::vector<OrderEvent> poll_events(Relay& relay, const std::set<std::string>& request_ids,
                                    std::chrono::milliseconds timeout) {
  return collect<OrderEvent>(request_ids, timeout, true, [&](auto* batch) { return relay.poll(kBatch, kWait, batch); });
}

std::vector<OrderEvent> poll_events_for(Relay& relay, const std::set<std::string>& request_ids,
                                        std::chrono::milliseconds duration) {
  return collect<OrderEvent>(request_ids, duration, false,
                             [&](auto* batch) { return relay.poll(kBatch, kWait, batch); });
}

std::string describe(const Status& status) {
  return std::string(code_name(status.code())) + (status.message().empty() ? "" : ": " + status.message());
}

}  // namespace flashsale::conformance
