#include "sqlite_order_store.h"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>

#include "flashsale/clock.h"
#include "sqlite_error.h"
#include "sqlite_schema.h"

namespace flashsale::sqlite {

using namespace Poco::Data::Keywords;

namespace {

constexpr const char* kAlreadyPurchased = "already_purchased";

// The recorded outcome of one request, as persist and find_request read it.
constexpr const char* kSelectOutcome =
    "SELECT status, coalesce(reason, ''), coalesce(order_id, 0) FROM order_requests WHERE request_id = ?1";

// ON CONFLICT DO NOTHING covers both unique keys; the request_id one cannot
// fire (an order and its outcome are written in the same transaction and the
// outcome is looked up first), so no row back means the user already holds an
// order for the product.
constexpr const char* kInsertOrder =
    "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?4 * ?5, ?6, ?7)"
    " ON CONFLICT DO NOTHING RETURNING id";

constexpr const char* kRecordOutcome =
    "INSERT INTO order_requests (request_id, user_id, product_id, quantity, status, reason, order_id, updated_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

sqlite3* handle(Poco::Data::Session& session) {
  return Poco::Data::SQLite::Utility::dbHandle(session);
}

Poco::Data::Session open_with_schema(const std::string& path) {
  Poco::Data::Session session = open_connection(path);
  create_schema(session);
  return session;
}

// Fills *out from the stored status text; false for text this family never writes.
bool parse_outcome(const std::string& status, const std::string& reason, OrderId order_id, PersistResult* out) {
  if (status == status_name(RequestStatus::success)) {
    *out = PersistResult{RequestStatus::success, {}, order_id};
  } else if (status == status_name(RequestStatus::failed)) {
    *out = PersistResult{RequestStatus::failed, reason, 0};
  } else {
    return false;
  }
  return true;
}

Status broken_row(const std::string& request_id, const std::string& status) {
  return Status(Code::internal, "sqlite: order_requests row " + request_id + " has unknown status '" + status + "'");
}

}  // namespace

SqliteOrderStore::SqliteOrderStore(const std::string& path)
    : writer_(open_with_schema(path)),
      find_outcome_(handle(writer_), kSelectOutcome),
      insert_order_(handle(writer_), kInsertOrder),
      record_outcome_(handle(writer_), kRecordOutcome),
      reader_(open_connection(path)) {}

Status SqliteOrderStore::persist(const std::vector<OrderEvent>& events, std::vector<PersistResult>* results) noexcept {
  return guarded("persist", [&] {
    std::vector<PersistResult> outcomes;
    outcomes.reserve(events.size());
    if (!events.empty()) {
      std::lock_guard<std::mutex> lock(writer_mutex_);
      WriteTransaction transaction(handle(writer_));
      UnixMillis now = now_ms();
      for (const OrderEvent& event : events) outcomes.push_back(persist_one(event, now));
      transaction.commit();
    }
    *results = std::move(outcomes);
    return Status::ok();
  });
}

PersistResult SqliteOrderStore::persist_one(const OrderEvent& event, UnixMillis now) {
  PersistResult result;
  {
    StatementRun found = find_outcome_.run();
    found.bind(1, event.request_id);
    if (found.next_row()) {
      std::string status = found.text_column(0);
      if (!parse_outcome(status, found.text_column(1), found.int64_column(2), &result)) {
        throw Poco::Data::DataException(broken_row(event.request_id, status).message());
      }
      return result;  // persisted before: the same answer, nothing written
    }
  }
  {
    StatementRun insert = insert_order_.run();
    insert.bind(1, event.request_id);
    insert.bind(2, event.user_id);
    insert.bind(3, event.product_id);
    insert.bind(4, std::int64_t{event.quantity});
    insert.bind(5, event.unit_price);
    insert.bind(6, event.accepted_ms);
    insert.bind(7, now);
    if (insert.next_row()) {
      result = PersistResult{RequestStatus::success, {}, insert.int64_column(0)};
    } else {
      result = PersistResult{RequestStatus::failed, kAlreadyPurchased, 0};
    }
  }
  StatementRun record = record_outcome_.run();
  record.bind(1, event.request_id);
  record.bind(2, event.user_id);
  record.bind(3, event.product_id);
  record.bind(4, std::int64_t{event.quantity});
  record.bind(5, status_name(result.status));
  if (result.status == RequestStatus::success) {
    record.bind_null(6);
    record.bind(7, result.order_id);
  } else {
    record.bind(6, result.reason);
    record.bind_null(7);
  }
  record.bind(8, now);
  record.next_row();
  return result;
}

Status SqliteOrderStore::find_request(const std::string& request_id, RequestState* out) noexcept {
  return guarded("find_request", [&] {
    std::string status, reason;
    OrderId order_id = 0;
    std::size_t rows = 0;
    {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      Poco::Data::Statement select(reader_);
      select << kSelectOutcome, bind(request_id), into(status), into(reason), into(order_id);
      rows = select.execute();
    }
    if (rows == 0) return Status(Code::not_found, "request " + request_id + " was never persisted");
    PersistResult outcome;
    if (!parse_outcome(status, reason, order_id, &outcome)) return broken_row(request_id, status);
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
    // Every order has a 'success' outcome row with its quantity, so one range
    // of the (product_id, status, quantity) index answers all three numbers.
    ProductSales totals;
    std::lock_guard<std::mutex> lock(reader_mutex_);
    reader_ << "SELECT coalesce(sum(status = 'success'), 0),"
               " coalesce(sum(CASE WHEN status = 'success' THEN quantity END), 0),"
               " coalesce(sum(status = 'failed'), 0)"
               " FROM order_requests WHERE product_id = ?",
        bind(id), into(totals.orders), into(totals.quantity_sold), into(totals.failed_requests), now;
    *out = totals;
    return Status::ok();
  });
}

}  // namespace flashsale::sqlite
