// The baseline of persist/postgres_plugin: what PostgreSQL itself does for
// the same work with nothing around it. The postgres plugin lays out its
// schema in a fresh one (so the tables and indexes are exactly the plugin's),
// then this writes each batch on one plain libpq connection as one pipeline,
// one round trip: BEGIN; one multi-row INSERT INTO orders ... SELECT FROM
// unnest(...) of the batch's columns as arrays; one upsert of the batch's
// totals into product_sales; COMMIT; both statements prepared once. The rows
// are the ones the plugin writes for the same batch of new orders, minus
// everything around them: no ON CONFLICT, no check of failed_requests, no
// read of the requests' outcomes, no second round trip, no plugin boundary.
// Skipped (never registered) without POSTGRES_DSN.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "flashsale/clock.h"
#include "persist_batch.h"
#include "postgres_scratch.h"

namespace flashsale::bench {

namespace {

// The text form of an array parameter, as the plugin sends them (request ids
// are canonical UUIDs: no quoting needed beyond the quotes).
template <typename Field>
std::string array_of(const std::vector<OrderEvent>& batch, Field field, bool quote = false) {
  std::string text = "{";
  for (const OrderEvent& e : batch) {
    if (text.size() > 1) text += ',';
    if (quote) text += '"';
    text += field(e);
    if (quote) text += '"';
  }
  return text + "}";
}

class RawOrderWriter {
 public:
  explicit RawOrderWriter(const std::string& dsn) : db_(connect_or_throw(dsn)) {
    prepare("insert_orders",
            "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms,"
            " created_ms, deadline_ms)"
            " SELECT e.request_id, e.user_id, e.product_id, e.quantity, e.unit_price, e.quantity * e.unit_price,"
            " e.accepted_ms, $7::int8, $8::int8"
            " FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[], $5::int8[], $6::int8[])"
            " AS e(request_id, user_id, product_id, quantity, unit_price, accepted_ms)");
    prepare("add_sales",
            "INSERT INTO product_sales AS s (product_id, orders, orders_awaiting_payment, quantity_awaiting_payment)"
            " VALUES ($1::int8, $2::int8, $2::int8, $3::int8) ON CONFLICT (product_id) DO UPDATE SET"
            " orders = s.orders + excluded.orders,"
            " orders_awaiting_payment = s.orders_awaiting_payment + excluded.orders_awaiting_payment,"
            " quantity_awaiting_payment = s.quantity_awaiting_payment + excluded.quantity_awaiting_payment");
  }
  ~RawOrderWriter() { PQfinish(db_); }
  RawOrderWriter(const RawOrderWriter&) = delete;
  RawOrderWriter& operator=(const RawOrderWriter&) = delete;

  void write(const std::vector<OrderEvent>& batch) {
    UnixMillis now = now_ms();
    std::string request_ids = array_of(batch, [](const OrderEvent& e) { return e.request_id; }, true);
    std::string users = array_of(batch, [](const OrderEvent& e) { return std::to_string(e.user_id); });
    std::string products = array_of(batch, [](const OrderEvent& e) { return std::to_string(e.product_id); });
    std::string quantities = array_of(batch, [](const OrderEvent& e) { return std::to_string(e.quantity); });
    std::string prices = array_of(batch, [](const OrderEvent& e) { return std::to_string(e.unit_price); });
    std::string accepted = array_of(batch, [](const OrderEvent& e) { return std::to_string(e.accepted_ms); });
    std::string created = std::to_string(now);
    std::string deadline = std::to_string(now + kPersistPaymentTimeoutMs);
    std::int64_t quantity = 0;
    for (const OrderEvent& e : batch) quantity += e.quantity;
    // Every batch of persist_batch.h is for one product.
    std::string product = std::to_string(batch.front().product_id);
    std::string orders = std::to_string(batch.size());
    std::string total = std::to_string(quantity);

    const char* insert[] = {request_ids.c_str(), users.c_str(),   products.c_str(), quantities.c_str(),
                            prices.c_str(),      accepted.c_str(), created.c_str(),  deadline.c_str()};
    const char* sales[] = {product.c_str(), orders.c_str(), total.c_str()};
    check(PQenterPipelineMode(db_), "enter pipeline mode");
    check(PQsendQueryParams(db_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0), "send BEGIN");
    check(PQsendQueryPrepared(db_, "insert_orders", 8, insert, nullptr, nullptr, 0), "send insert");
    check(PQsendQueryPrepared(db_, "add_sales", 3, sales, nullptr, nullptr, 0), "send upsert");
    check(PQsendQueryParams(db_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0), "send COMMIT");
    check(PQpipelineSync(db_), "sync");
    for (const char* what : {"BEGIN", "insert orders", "add sales", "COMMIT"}) {
      PGresult* result = PQgetResult(db_);
      ExecStatusType status = PQresultStatus(result);
      std::string message = PQresultErrorMessage(result);
      PQclear(result);
      if (status != PGRES_COMMAND_OK) throw std::runtime_error(std::string(what) + ": " + message);
      if (PGresult* end = PQgetResult(db_); end != nullptr) {  // each statement's answers end with a null
        PQclear(end);
        throw std::runtime_error(std::string(what) + ": more than one answer");
      }
    }
    PGresult* sync = PQgetResult(db_);
    ExecStatusType status = PQresultStatus(sync);
    PQclear(sync);
    if (status != PGRES_PIPELINE_SYNC) throw std::runtime_error("the pipeline did not end where it was synced");
    check(PQexitPipelineMode(db_), "leave pipeline mode");
  }

 private:
  void prepare(const char* name, const char* sql) {
    PGresult* result = PQprepare(db_, name, sql, 0, nullptr);
    ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    if (status != PGRES_COMMAND_OK) throw std::runtime_error(std::string("prepare ") + name + ": " + PQerrorMessage(db_));
  }
  void check(int ok, const char* what) {
    if (ok != 1) throw std::runtime_error(std::string(what) + ": " + PQerrorMessage(db_));
  }

  PGconn* db_;
};

std::unique_ptr<ScratchSchema> schema;
std::unique_ptr<RawOrderWriter> writer;
std::string setup_error;

void open_writer(const benchmark::State&) {
  setup_error.clear();
  try {
    schema = std::make_unique<ScratchSchema>();
    load_stages({{"STAGE_PERSIST", "postgres"}, {"POSTGRES_DSN", schema->dsn()}});  // lays out the schema, then closes
    writer = std::make_unique<RawOrderWriter>(schema->dsn());
    schema->checkpoint();
  } catch (const std::exception& e) {
    setup_error = e.what();
  }
}

void close_writer(const benchmark::State&) {
  writer.reset();
  schema.reset();
}

void BM_PersistRawPostgres(benchmark::State& state) {
  if (!setup_error.empty()) {
    state.SkipWithError(setup_error.c_str());
    return;
  }
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<OrderEvent> batch = next_persist_batch();
    state.ResumeTiming();
    try {
      writer->write(batch);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPersistBatch);
}

}  // namespace

[[maybe_unused]] const bool raw_postgres_registered = [] {
  if (postgres_dsn() == nullptr) return false;
  benchmark::RegisterBenchmark("persist/raw_postgres_baseline", BM_PersistRawPostgres)
      ->Setup(open_writer)
      ->Teardown(close_writer)
      ->Iterations(kPersistBatches)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace flashsale::bench
