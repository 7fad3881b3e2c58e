#include "sqlite_order_store.h"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>

#include "flashsale/clock.h"
#include "request_key.h"
#include "sqlite_error.h"
#include "sqlite_schema.h"

namespace flashsale::sqlite {

using namespace Poco::Data::Keywords;

namespace {

constexpr const char* kAlreadyPurchased = "already_purchased";

// ON CONFLICT DO NOTHING covers both unique keys: no row inserted means the
// request_id was persisted before, or the user already holds an order for the
// product; persist_one tells which only then, off the common path. The new id
// is read with sqlite3_last_insert_rowid: RETURNING would make SQLite buffer
// the row in a temporary table first, a third of the cost of the insert.
constexpr const char* kInsertOrder =
    "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?4 * ?5, ?6, ?7)"
    " ON CONFLICT DO NOTHING";

constexpr const char* kFindOrder = "SELECT id FROM orders WHERE request_id = ?1";

constexpr const char* kFindFailure = "SELECT reason FROM failed_requests WHERE request_id = ?1";

constexpr const char* kRecordFailure =
    "INSERT INTO failed_requests (request_id, user_id, product_id, quantity, reason, failed_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

constexpr const char* kAddSales =
    "INSERT INTO product_sales (product_id, orders, quantity_sold, failed_requests) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (product_id) DO UPDATE SET orders = orders + excluded.orders,"
    " quantity_sold = quantity_sold + excluded.quantity_sold,"
    " failed_requests = failed_requests + excluded.failed_requests";

constexpr const char* kSelectSales =
    "SELECT orders, quantity_sold, failed_requests FROM product_sales WHERE product_id = ?1";

sqlite3* handle(Poco::Data::Session& session) {
  return Poco::Data::SQLite::Utility::dbHandle(session);
}

Poco::Data::Session open_with_schema(const std::string& path) {
  Poco::Data::Session session = open_connection(path);
  open_schema(session);
  return session;
}

// The earlier outcome of key: through find_order and find_failure, statements
// of the same connection. False when the request was never persisted.
bool recorded_outcome(const RequestKey& key, PreparedStatement& find_order, PreparedStatement& find_failure,
                      PersistResult* out) {
  {
    StatementRun order = find_order.run();
    key.bind_to(order, 1);
    if (order.next_row()) {
      *out = PersistResult{RequestStatus::success, {}, order.int64_column(0)};
      return true;
    }
  }
  StatementRun failure = find_failure.run();
  key.bind_to(failure, 1);
  if (failure.next_row()) {
    *out = PersistResult{RequestStatus::failed, failure.text_column(0), 0};
    return true;
  }
  return false;
}

}  // namespace

SqliteOrderStore::SqliteOrderStore(const std::string& path, int checkpoint_pages)
    : writer_(open_with_schema(path)),
      insert_order_(handle(writer_), kInsertOrder),
      find_order_(handle(writer_), kFindOrder),
      find_failure_(handle(writer_), kFindFailure),
      record_failure_(handle(writer_), kRecordFailure),
      add_sales_(handle(writer_), kAddSales),
      reader_(open_connection(path)),
      read_order_(handle(reader_), kFindOrder),
      read_failure_(handle(reader_), kFindFailure),
      read_sales_(handle(reader_), kSelectSales),
      checkpointer_(path, handle(writer_), checkpoint_pages) {}

Status SqliteOrderStore::persist(const std::vector<OrderEvent>& events, std::vector<PersistResult>* results) noexcept {
  return guarded("persist", [&] {
    std::vector<PersistResult> outcomes;
    outcomes.reserve(events.size());
    if (!events.empty()) {
      std::lock_guard<std::mutex> lock(writer_mutex_);
      WriteTransaction transaction(handle(writer_));
      UnixMillis now = now_ms();
      // A batch is nearly always one product: a short list beats a map.
      std::vector<std::pair<ProductId, ProductSales>> added;
      for (const OrderEvent& event : events) outcomes.push_back(persist_one(event, now, &added));
      for (const auto& [product, sales] : added) {
        StatementRun add = add_sales_.run();
        add.bind(1, product);
        add.bind(2, sales.orders);
        add.bind(3, sales.quantity_sold);
        add.bind(4, sales.failed_requests);
        add.next_row();
      }
      transaction.commit();
    }
    *results = std::move(outcomes);
    return Status::ok();
  });
}

PersistResult SqliteOrderStore::persist_one(const OrderEvent& event, UnixMillis now,
                                            std::vector<std::pair<ProductId, ProductSales>>* added) {
  auto sales_of = [&]() -> ProductSales& {
    for (auto& [product, sales] : *added) {
      if (product == event.product_id) return sales;
    }
    return added->emplace_back(event.product_id, ProductSales{}).second;
  };
  RequestKey key(event.request_id);
  {
    StatementRun insert = insert_order_.run();
    key.bind_to(insert, 1);
    insert.bind(2, event.user_id);
    insert.bind(3, event.product_id);
    insert.bind(4, std::int64_t{event.quantity});
    insert.bind(5, event.unit_price);
    insert.bind(6, event.accepted_ms);
    insert.bind(7, now);
    insert.next_row();
    if (insert.changes() == 1) {
      ProductSales& sales = sales_of();
      sales.orders += 1;
      sales.quantity_sold += event.quantity;
      return PersistResult{RequestStatus::success, {}, insert.last_insert_rowid()};
    }
  }
  // Persisted before (an earlier batch or earlier in this one): the same
  // answer, nothing written. A failed request cannot have become an order
  // since: the order that made it fail is never deleted, so its insert above
  // conflicted again.
  PersistResult result;
  if (recorded_outcome(key, find_order_, find_failure_, &result)) return result;

  result = PersistResult{RequestStatus::failed, kAlreadyPurchased, 0};
  StatementRun record = record_failure_.run();
  key.bind_to(record, 1);
  record.bind(2, event.user_id);
  record.bind(3, event.product_id);
  record.bind(4, std::int64_t{event.quantity});
  record.bind(5, result.reason);
  record.bind(6, now);
  record.next_row();
  sales_of().failed_requests += 1;
  return result;
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
      found = recorded_outcome(RequestKey(request_id), read_order_, read_failure_, &outcome);
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
      writer_ << "INSERT INTO products (name, stock, sale_price, start_ms, end_ms, created_ms)"
                 " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
          bind(product.name), bind(product.stock), bind(product.sale_price), bind(product.start_ms),
          bind(product.end_ms), bind(now_ms()), into(id), now;
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
      select << "SELECT name, stock, sale_price, start_ms, end_ms FROM products WHERE id = ?", bind(id),
          into(product.name), into(product.stock), into(product.sale_price), into(product.start_ms),
          into(product.end_ms);
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
    ProductSales totals;  // no row: nothing persisted for the product yet
    {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      StatementRun select = read_sales_.run();
      select.bind(1, id);
      if (select.next_row()) {
        totals.orders = select.int64_column(0);
        totals.quantity_sold = select.int64_column(1);
        totals.failed_requests = select.int64_column(2);
      }
    }
    *out = totals;
    return Status::ok();
  });
}

}  // namespace flashsale::sqlite
