#include "sqlite_order_store.h"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>

#include <limits>

#include "flashsale/clock.h"
#include "order_sql.h"
#include "request_key.h"
#include "sales_totals.h"
#include "sqlite_error.h"
#include "sqlite_schema.h"

namespace flashsale::sqlite {

using namespace Poco::Data::Keywords;

namespace {

constexpr const char* kAlreadyPurchased = "already_purchased";
constexpr const char* kUnknownProduct = "unknown_product";
constexpr const char* kProductExists = "SELECT 1 FROM products WHERE id = ?1";

// ON CONFLICT DO NOTHING covers both unique keys: no row inserted means the
// request_id was persisted before, or the user already holds an active order
// for the product; persist_one tells which only then, off the common path.
// The new id is read with sqlite3_last_insert_rowid: RETURNING would make
// SQLite buffer the row in a temporary table first, a third of the cost of
// the insert.
constexpr const char* kInsertOrder =
    "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms,"
    " deadline_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?4 * ?5, ?6, ?7, ?8)"
    " ON CONFLICT DO NOTHING";

constexpr const char* kFindRequestOrder = "SELECT id FROM orders WHERE request_id = ?1";

constexpr const char* kFindFailure = "SELECT reason FROM failed_requests WHERE request_id = ?1";

constexpr const char* kRecordFailure =
    "INSERT INTO failed_requests (request_id, user_id, product_id, quantity, reason, failed_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

sqlite3* handle(Poco::Data::Session& session) {
  return Poco::Data::SQLite::Utility::dbHandle(session);
}

Poco::Data::Session open_with_schema(const std::string& path) {
  Poco::Data::Session session = open_connection(path);
  open_schema(session);
  return session;
}

// now + timeout, held at the largest time instead of overflowing.
UnixMillis saturating_add(UnixMillis now, std::int64_t timeout) {
  if (timeout > 0 && now > std::numeric_limits<UnixMillis>::max() - timeout) {
    return std::numeric_limits<UnixMillis>::max();
  }
  return now + timeout;
}

// The order key became, through find_request_order (kFindRequestOrder).
bool recorded_order(const RequestKey& key, PreparedStatement& find_request_order, PersistResult* out) {
  StatementRun order = find_request_order.run();
  key.bind_to(order, 1);
  if (!order.next_row()) return false;
  *out = PersistResult{RequestStatus::success, {}, order.int64_column(0)};
  return true;
}

// The failure recorded for key, through find_failure (kFindFailure).
bool recorded_failure(const RequestKey& key, PreparedStatement& find_failure, PersistResult* out) {
  StatementRun failure = find_failure.run();
  key.bind_to(failure, 1);
  if (!failure.next_row()) return false;
  *out = PersistResult{RequestStatus::failed, failure.text_column(0), 0};
  return true;
}

}  // namespace

SqliteOrderStore::SqliteOrderStore(const std::string& path, int checkpoint_pages)
    : writer_(open_with_schema(path)),
      insert_order_(handle(writer_), kInsertOrder),
      find_request_order_(handle(writer_), kFindRequestOrder),
      find_failure_(handle(writer_), kFindFailure),
      record_failure_(handle(writer_), kRecordFailure),
      product_exists_(handle(writer_), kProductExists),
      add_sales_(handle(writer_), kAddSales),
      select_order_(handle(writer_), order_sql::select_order().c_str()),
      select_due_(handle(writer_), order_sql::select_due().c_str()),
      mark_paid_(handle(writer_), order_sql::mark_paid().c_str()),
      mark_cancelled_(handle(writer_), order_sql::mark_cancelled().c_str()),
      record_return_(handle(writer_), order_sql::kRecordReturn),
      select_return_(handle(writer_), order_sql::kSelectReturn),
      delete_return_(handle(writer_), order_sql::kDeleteReturn),
      record_top_up_(handle(writer_), order_sql::kRecordTopUp),
      complete_top_up_(handle(writer_), order_sql::kCompleteTopUp),
      reader_(open_connection(path)),
      read_request_order_(handle(reader_), kFindRequestOrder),
      read_failure_(handle(reader_), kFindFailure),
      read_sales_(handle(reader_), kSelectSales),
      read_product_exists_(handle(reader_), kProductExists),
      read_order_(handle(reader_), order_sql::select_order().c_str()),
      read_any_due_(handle(reader_), order_sql::any_due().c_str()),
      read_returns_(handle(reader_), order_sql::select_returns().c_str()),
      read_top_ups_(handle(reader_), order_sql::kSelectTopUps),
      checkpointer_(path, handle(writer_), checkpoint_pages) {}

Status SqliteOrderStore::persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                                 std::vector<PersistResult>* results) noexcept {
  return guarded("persist", [&] {
    std::vector<PersistResult> outcomes;
    outcomes.reserve(events.size());
    if (!events.empty()) {
      std::lock_guard<std::mutex> lock(writer_mutex_);
      WriteTransaction transaction(handle(writer_));
      UnixMillis now = now_ms();
      UnixMillis deadline = saturating_add(now, payment_timeout_ms);
      SalesChanges changes;
      for (const OrderEvent& event : events) outcomes.push_back(persist_one(event, now, deadline, &changes));
      changes.add_to(add_sales_);
      transaction.commit();
    }
    *results = std::move(outcomes);
    return Status::ok();
  });
}

PersistResult SqliteOrderStore::persist_one(const OrderEvent& event, UnixMillis now, UnixMillis deadline,
                                            SalesChanges* changes) {
  RequestKey key(event.request_id);
  // A request that failed stays failed, even once the order that refused it
  // is cancelled: its stock was handed back when it failed, and an order now
  // would sell that stock twice. One probe of failed_requests' key, a small
  // table: cheaper than a guard inside the insert, which needs the slower
  // INSERT ... SELECT ... WHERE NOT EXISTS form.
  PersistResult result;
  if (recorded_failure(key, find_failure_, &result)) return result;
  if (!known_product(event.product_id)) return record_failed(key, event, kUnknownProduct, now);
  {
    StatementRun insert = insert_order_.run();
    key.bind_to(insert, 1);
    insert.bind(2, event.user_id);
    insert.bind(3, event.product_id);
    insert.bind(4, std::int64_t{event.quantity});
    insert.bind(5, event.unit_price);
    insert.bind(6, event.accepted_ms);
    insert.bind(7, now);
    insert.bind(8, deadline);
    insert.next_row();
    if (insert.changes() == 1) {
      changes->order_created(event.product_id, event.quantity);
      return PersistResult{RequestStatus::success, {}, insert.last_insert_rowid()};
    }
  }
  // Became an order before (an earlier batch or earlier in this one): the
  // same answer, whatever became of the order since, and nothing written.
  if (recorded_order(key, find_request_order_, &result)) return result;
  changes->request_failed(event.product_id);
  return record_failed(key, event, kAlreadyPurchased, now);
}

PersistResult SqliteOrderStore::record_failed(const RequestKey& key, const OrderEvent& event, const char* reason,
                                              UnixMillis now) {
  PersistResult result{RequestStatus::failed, reason, 0};
  StatementRun record = record_failure_.run();
  key.bind_to(record, 1);
  record.bind(2, event.user_id);
  record.bind(3, event.product_id);
  record.bind(4, std::int64_t{event.quantity});
  record.bind(5, result.reason);  // bound without a copy: it outlives the step
  record.bind(6, now);
  record.next_row();
  return result;
}

bool SqliteOrderStore::known_product(ProductId id) {
  if (known_products_.count(id) != 0) return true;
  StatementRun select = product_exists_.run();
  select.bind(1, id);
  if (!select.next_row()) return false;
  known_products_.insert(id);
  return true;
}

Status SqliteOrderStore::find_request(const std::string& request_id, RequestState* out) noexcept {
  return guarded("find_request", [&] {
    PersistResult outcome;
    bool found = false;
    {
      // Two reads, no snapshot needed: a request enters one of the tables
      // once and never moves, so a batch committed in between at worst makes
      // this answer not_found, as it would have a moment earlier.
      std::lock_guard<std::mutex> lock(reader_mutex_);
      RequestKey key(request_id);
      found = recorded_order(key, read_request_order_, &outcome) || recorded_failure(key, read_failure_, &outcome);
    }
    if (!found) return Status(Code::not_found, "request " + request_id + " was never persisted");
    *out = RequestState{request_id, outcome.status, outcome.reason, outcome.order_id};
    return Status::ok();
  });
}

Status SqliteOrderStore::create_product(const NewProduct& product, Product* created) noexcept {
  return guarded("create_product", [&] {
    ProductId id = 0;
    {
      std::lock_guard<std::mutex> lock(writer_mutex_);
      writer_ << "INSERT INTO products (name, stock, sale_price, start_ms, end_ms, created_ms, stock_shards)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
          bind(product.name), bind(product.stock), bind(product.sale_price), bind(product.start_ms),
          bind(product.end_ms), bind(now_ms()), bind(product.stock_shards), into(id), now;
    }
    Product stored;
    static_cast<NewProduct&>(stored) = product;
    stored.id = id;
    *created = std::move(stored);
    return Status::ok();
  });
}

Status SqliteOrderStore::find_product(ProductId id, Product* out) noexcept {
  return guarded("find_product", [&] {
    Product product;
    std::size_t rows = 0;
    {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      Poco::Data::Statement select(reader_);
      select << "SELECT name, stock, sale_price, start_ms, end_ms, stock_shards FROM products WHERE id = ?", bind(id),
          into(product.name), into(product.stock), into(product.sale_price), into(product.start_ms),
          into(product.end_ms), into(product.stock_shards);
      rows = select.execute();
    }
    if (rows == 0) return Status(Code::not_found, "product " + std::to_string(id) + " does not exist");
    product.id = id;
    *out = std::move(product);
    return Status::ok();
  });
}

Status SqliteOrderStore::sales(ProductId id, ProductSales* out) noexcept {
  return guarded("sales", [&] {
    ProductSales totals;
    {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      StatementRun exists = read_product_exists_.run();
      exists.bind(1, id);
      if (!exists.next_row()) return Status(Code::not_found, "product " + std::to_string(id) + " does not exist");
      StatementRun select = read_sales_.run();
      select.bind(1, id);
      if (select.next_row()) totals = read_sales(select);  // always a row
    }
    *out = totals;
    return Status::ok();
  });
}

}  // namespace flashsale::sqlite
