#include "postgres_order_store.h"

#include <limits>

#include "flashsale/clock.h"
#include "order_sql.h"
#include "persist_batch.h"
#include "pg_schema.h"
#include "sales_totals.h"
#include "store_call.h"

namespace flashsale::postgres {

namespace {

// now + timeout, held at the largest time instead of overflowing.
UnixMillis saturating_add(UnixMillis now, std::int64_t timeout) {
  if (timeout > 0 && now > std::numeric_limits<UnixMillis>::max() - timeout) {
    return std::numeric_limits<UnixMillis>::max();
  }
  return now + timeout;
}

// A caller waits for a pooled connection about as long as two calls may take.
std::chrono::milliseconds pool_wait(const ConnectOptions& options) {
  return 2 * (options.statement_timeout + options.answer_slack);
}

}  // namespace

PostgresOrderStore::PostgresOrderStore(const StoreOptions& options)
    : pool_(options.connect, options.pool_size, pool_wait(options.connect)) {
  ConnectionPool::Lease lease = pool_.acquire();
  migrate(*lease);
}

Status PostgresOrderStore::persist(const std::vector<OrderEvent>& events, std::int64_t payment_timeout_ms,
                                   std::vector<PersistResult>* results) noexcept {
  // Safe to run again: a batch committed just before the connection died
  // answers the same the second time.
  return store_call(pool_, "persist", Replay::safe, [&](Connection& connection) {
    UnixMillis now = now_ms();
    std::vector<ProductId> products;
    products.reserve(events.size());
    for (const OrderEvent& event : events) products.push_back(event.product_id);
    *results = persist_batch(connection, events, unknown_products(connection, products), now,
                             saturating_add(now, payment_timeout_ms));
    return Status::ok();
  });
}

std::vector<bool> PostgresOrderStore::unknown_products(Connection& connection, const std::vector<ProductId>& ids) {
  std::vector<std::int64_t> asked;
  {
    std::lock_guard lock(known_mutex_);
    for (ProductId id : ids) {
      if (known_products_.count(id) == 0) asked.push_back(id);
    }
  }
  if (!asked.empty()) {
    static const Statement select{"fs_known_products", "SELECT id FROM products WHERE id = ANY($1::int8[])"};
    std::vector<Result> answers = connection.run({{&select, {int_array(asked)}}});
    std::lock_guard lock(known_mutex_);
    for (int row = 0; row < answers[0].rows(); ++row) known_products_.insert(answers[0].int64(row, 0));
  }
  std::vector<bool> unknown(ids.size(), false);
  std::lock_guard lock(known_mutex_);
  for (std::size_t i = 0; i < ids.size(); ++i) unknown[i] = known_products_.count(ids[i]) == 0;
  return unknown;
}

Status PostgresOrderStore::find_request(const std::string& request_id, RequestState* out) noexcept {
  return store_call(pool_, "find_request", Replay::safe, [&](Connection& connection) {
    std::vector<Result> answers = connection.run({{&request_outcomes(), {text_array({request_id})}}});
    const Result& outcomes = answers[0];
    if (outcomes.rows() == 0) return Status(Code::not_found, "request " + request_id + " was never persisted");
    if (outcomes.null(0, 1)) {
      *out = RequestState{request_id, RequestStatus::failed, std::string(outcomes.text(0, 2)), 0};
    } else {
      *out = RequestState{request_id, RequestStatus::success, {}, outcomes.int64(0, 1)};
    }
    return Status::ok();
  });
}

Status PostgresOrderStore::create_product(const NewProduct& product, Product* created) noexcept {
  static const Statement insert{"fs_create_product",
                                "INSERT INTO products (name, stock, sale_price, start_ms, end_ms, created_ms,"
                                " stock_shards) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"};
  // Not run again after a lost connection: it may have committed a product.
  return store_call(pool_, "create_product", Replay::never, [&](Connection& connection) {
    std::vector<Result> answers =
        connection.run({{&insert,
                         {product.name, param(product.stock), param(product.sale_price), param(product.start_ms),
                          param(product.end_ms), param(now_ms()), param(product.stock_shards)}}});
    Product stored;
    static_cast<NewProduct&>(stored) = product;
    stored.id = answers[0].int64(0, 0);
    *created = std::move(stored);
    return Status::ok();
  });
}

Status PostgresOrderStore::find_product(ProductId id, Product* out) noexcept {
  static const Statement select{"fs_find_product",
                                "SELECT name, stock, sale_price, start_ms, end_ms, stock_shards FROM products"
                                " WHERE id = $1"};
  return store_call(pool_, "find_product", Replay::safe, [&](Connection& connection) {
    std::vector<Result> answers = connection.run({{&select, {param(id)}}});
    const Result& row = answers[0];
    if (row.rows() == 0) return Status(Code::not_found, "product " + std::to_string(id) + " does not exist");
    Product product;
    product.id = id;
    product.name = row.text(0, 0);
    product.stock = row.int64(0, 1);
    product.sale_price = row.int64(0, 2);
    product.start_ms = row.int64(0, 3);
    product.end_ms = row.int64(0, 4);
    product.stock_shards = static_cast<std::int32_t>(row.int64(0, 5));
    *out = std::move(product);
    return Status::ok();
  });
}

Status PostgresOrderStore::sales(ProductId id, ProductSales* out) noexcept {
  return store_call(pool_, "sales", Replay::safe, [&](Connection& connection) {
    if (unknown_products(connection, {id})[0]) {
      return Status(Code::not_found, "product " + std::to_string(id) + " does not exist");
    }
    std::vector<Result> answers = connection.run({{&order_sql::select_sales_and_top_ups(), {param(id)}}});
    // Always one row; NULL totals (nothing persisted for the product yet) read as 0.
    ProductSales sales = read_sales(answers[0], 0);
    sales.quantity_added = answers[0].int64(0, 9);
    sales.quantity_top_ups_pending = answers[0].int64(0, 10);
    *out = sales;
    return Status::ok();
  });
}

}  // namespace flashsale::postgres
