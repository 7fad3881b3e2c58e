#include "persist_batch.h"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include "pg_error.h"
#include "pg_schema.h"
#include "sales_totals.h"

namespace flashsale::postgres {

namespace {

constexpr const char* kAlreadyPurchased = "already_purchased";
constexpr const char* kUnknownProduct = "unknown_product";

// A batch goes back to the insert only when an order that refused one of its
// events was cancelled meanwhile, which frees the user's product; a request
// caught in that more than this often is left to the consumer's retry.
constexpr int kMaxRounds = 8;

const Statement kBegin{"", "BEGIN"};
const Statement kCommit{"", "COMMIT"};
const Statement kRollback{"", "ROLLBACK"};
// The fast path's statements are planned once per connection instead of per
// run (the session plans every run, pg_connection.cpp): the insert and the
// upsert read no table but through a unique key, and the check's query can
// only probe one (pg_schema.cpp), so a plan made on an empty database stays
// right.
const Statement kGenericPlans{"", "SET LOCAL plan_cache_mode = force_generic_plan"};

constexpr const char* kUniqueViolation = "23505";

// Rows are inserted in (product_id, user_id, position) order: two batches
// racing for the same users take the unique keys' locks in the same order
// (no deadlock between them), and events of one user and product keep their
// batch order, so the first of them wins as it would one at a time. A
// request id seen twice is inserted once (ON CONFLICT DO NOTHING also skips
// a row that conflicts with one inserted earlier by the same statement).
//
// `where` filters the events (as e); `on_conflict` and `returning` end the
// statement.
std::string insert_orders_sql(const std::string& where, const std::string& on_conflict, const std::string& returning) {
  return "INSERT INTO orders (request_id, user_id, product_id, quantity, unit_price, amount, accepted_ms, created_ms,"
         " deadline_ms)"
         " SELECT e.request_id, e.user_id, e.product_id, e.quantity, e.unit_price, e.quantity * e.unit_price,"
         " e.accepted_ms, $7::int8, $8::int8"
         " FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[], $5::int8[], $6::int8[]) WITH ORDINALITY"
         " AS e(request_id, user_id, product_id, quantity, unit_price, accepted_ms, position)" +
         where + " ORDER BY e.product_id, e.user_id, e.position" + on_conflict + returning;
}

// The careful path's insert: every event that can become an order does.
const Statement& insert_orders() {
  static const Statement statement{
      "fs_insert_orders",
      insert_orders_sql(" WHERE NOT EXISTS (SELECT 1 FROM failed_requests f WHERE f.request_id = e.request_id)",
                        " ON CONFLICT DO NOTHING", " RETURNING request_id, id, product_id, quantity")};
  return statement;
}

// The fast path's: every event becomes an order, or a unique key stops the
// statement (unique_violation) and with it the transaction. Answers one row,
// the new orders' ids as one int8[] in (product_id, user_id) order: one value
// instead of a row per order, and enough to name each event's order, as the
// orders are all active and so of distinct users per product.
const Statement& insert_fresh_orders() {
  static const Statement statement{
      "fs_insert_fresh_orders", "WITH inserted AS (" + insert_orders_sql("", "", " RETURNING id, product_id, user_id") +
                                    ") SELECT array_agg(id ORDER BY product_id, user_id) FROM inserted"};
  return statement;
}

// Stops the transaction (SQLSTATE kFailedRequestFound) when a request of $1
// is recorded as failed (pg_schema.cpp). A statement of its own after the
// insert, so its snapshot is taken after every row went in: see
// persist_fresh.
const Statement& refuse_failed_requests() {
  static const Statement statement{"fs_refuse_failed_requests", "SELECT flashsale_refuse_failed_requests($1::text[])"};
  return statement;
}

// Records already_purchased for the events whose user and product an active
// order holds, and locks that order (FOR SHARE) until the commit. Without
// the lock, the order could be cancelled the moment after, another process
// could then persist a redelivery of the same request as an order, and both
// would commit: one request, two outcomes. With it, the cancel waits for this
// commit, and so does any insert that needs the freed slot; such an insert
// sees the failure when it reads the outcomes (it then withdraws its row).
// An order cancelled before the lock is not found: those events go back to
// the insert. So is an event whose request is itself an order by now: a
// cancel freed the slot and another process persisted the request there,
// and that order would otherwise pass for the one refusing it. Both reads
// share the statement's snapshot, so an order the holders see is an order
// the request check sees. Returns the failures this statement recorded.
const Statement& record_failures() {
  static const Statement statement{
      "fs_record_failures",
      "WITH refused AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[])"
      " AS e(request_id, user_id, product_id, quantity)),"
      " holders AS (SELECT o.user_id, o.product_id FROM orders o"
      " JOIN (SELECT DISTINCT user_id, product_id FROM refused) k"
      " ON o.user_id = k.user_id AND o.product_id = k.product_id"
      " WHERE o.status IN (0, 1) FOR SHARE OF o)"
      " INSERT INTO failed_requests (request_id, user_id, product_id, quantity, reason, failed_ms)"
      " SELECT r.request_id, r.user_id, r.product_id, r.quantity, $5::text, $6::int8 FROM refused r"
      " WHERE EXISTS (SELECT 1 FROM holders h WHERE h.user_id = r.user_id AND h.product_id = r.product_id)"
      " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.request_id = r.request_id)"
      " ORDER BY r.request_id"
      " ON CONFLICT DO NOTHING"
      " RETURNING request_id, product_id"};
  return statement;
}

const Statement& read_failures() {
  static const Statement statement{"fs_read_failures",
                                   "SELECT request_id, reason FROM failed_requests WHERE request_id = ANY($1::text[])"};
  return statement;
}

const Statement& delete_orders() {
  static const Statement statement{"fs_delete_orders", "DELETE FROM orders WHERE id = ANY($1::int8[])"};
  return statement;
}

// Some of a batch's events as the arrays the statements take.
struct Columns {
  std::string request_ids, user_ids, product_ids, quantities, unit_prices, accepted_ms;
};

Columns columns_of(const std::vector<OrderEvent>& events, const std::vector<std::size_t>& which) {
  std::vector<std::string_view> request_ids;
  std::vector<std::int64_t> users, products, quantities, prices, accepted;
  for (std::size_t i : which) {
    const OrderEvent& event = events[i];
    request_ids.push_back(event.request_id);
    users.push_back(event.user_id);
    products.push_back(event.product_id);
    quantities.push_back(event.quantity);
    prices.push_back(event.unit_price);
    accepted.push_back(event.accepted_ms);
  }
  return {text_array(request_ids), int_array(users),  int_array(products),
          int_array(quantities),   int_array(prices), int_array(accepted)};
}

// The fast path: see persist_batch.h. Returns false, the transaction
// aborted with nothing of it left, when the careful path must decide.
bool persist_fresh(Connection& connection, const std::vector<OrderEvent>& events, UnixMillis now, UnixMillis deadline,
                   std::vector<PersistResult>* results) {
  std::vector<std::size_t> all(events.size());
  std::iota(all.begin(), all.end(), 0);
  Columns c = columns_of(events, all);
  SalesChanges changes;
  for (const OrderEvent& event : events) changes.order_created(event.product_id, event.quantity);
  std::vector<Query> queries{{&kBegin, {}},
                             {&kGenericPlans, {}},
                             {&insert_fresh_orders(),
                              {c.request_ids, c.user_ids, c.product_ids, c.quantities, c.unit_prices, c.accepted_ms,
                               param(now), param(deadline)}},
                             {&refuse_failed_requests(), {c.request_ids}}};
  changes.append_to(&queries);
  queries.push_back({&kCommit, {}});
  std::vector<Result> answers;
  try {
    answers = connection.run(queries);
  } catch (const PgError& error) {
    bool not_fresh = error.sqlstate() == kUniqueViolation || error.sqlstate() == kFailedRequestFound;
    if (not_fresh && error.kind() != PgError::Kind::connection) return false;
    throw;
  }
  std::vector<OrderId> ids = answers[2].int64_array(0, 0);
  if (ids.size() != events.size()) {
    throw PgError(
        PgError::Kind::internal, "",
        std::to_string(events.size()) + " events were committed as " + std::to_string(ids.size()) + " orders");
  }
  std::vector<std::size_t> by_user = all;
  std::sort(by_user.begin(), by_user.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(events[a].product_id, events[a].user_id) < std::pair(events[b].product_id, events[b].user_id);
  });
  results->assign(events.size(), PersistResult{RequestStatus::success, {}, 0});
  for (std::size_t i = 0; i < by_user.size(); ++i) (*results)[by_user[i]].order_id = ids[i];
  return true;
}

// Records the events of products never created as failed. No such request
// can be an order or have failed otherwise: products are never deleted.
const Statement& record_unknown_products() {
  static const Statement statement{
      "fs_record_unknown_products",
      "INSERT INTO failed_requests (request_id, user_id, product_id, quantity, reason, failed_ms)"
      " SELECT request_id, user_id, product_id, quantity, $5::text, $6::int8"
      " FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[]) AS e(request_id, user_id, product_id, quantity)"
      " ON CONFLICT DO NOTHING"};
  return statement;
}

class Batch {
 public:
  Batch(Connection& connection, const std::vector<OrderEvent>& events, const std::vector<bool>& unknown_product,
        UnixMillis now, UnixMillis deadline)
      : connection_(connection),
        events_(events),
        unknown_product_(unknown_product),
        now_(now),
        deadline_(deadline),
        results_(events.size()) {}

  std::vector<PersistResult> run() {
    std::vector<std::size_t> unsettled, unknown;
    for (std::size_t i = 0; i < events_.size(); ++i) (unknown_product_[i] ? unknown : unsettled).push_back(i);
    std::vector<Query> finish;
    if (unsettled.empty()) {
      // No insert round opens the transaction: the finish does.
      if (connection_.in_transaction()) finish.push_back({&kRollback, {}});
      finish.push_back({&kBegin, {}});
    }
    for (int round = 0; !unsettled.empty(); ++round) {
      if (round == kMaxRounds) {
        throw PgError(PgError::Kind::unavailable, "",
                      "orders kept being cancelled under the batch's refused events; try the batch again");
      }
      std::vector<std::size_t> refused = insert(unsettled, round == 0);
      unsettled = refused.empty() ? refused : record_failures_of(refused);
    }
    Columns u = columns_of(events_, unknown);
    if (!unknown.empty()) {
      finish.push_back(
          {&record_unknown_products(), {u.request_ids, u.user_ids, u.product_ids, u.quantities, kUnknownProduct, param(now_)}});
      for (std::size_t i : unknown) results_[i] = PersistResult{RequestStatus::failed, kUnknownProduct, 0};
    }
    withdraw(&finish);
    changes_.append_to(&finish);
    finish.push_back({&kCommit, {}});
    connection_.run(finish);
    return std::move(results_);
  }

 private:
  // Inserts `unsettled` and settles each event whose request now has an outcome;
  // returns the others, refused by an active order of their user and product.
  std::vector<std::size_t> insert(const std::vector<std::size_t>& unsettled, bool begin) {
    Columns c = columns_of(events_, unsettled);
    std::vector<Query> queries;
    if (begin) {
      // The fast path's transaction, aborted.
      if (connection_.in_transaction()) queries.push_back({&kRollback, {}});
      queries.push_back({&kBegin, {}});
    }
    queries.push_back({&insert_orders(),
                       {c.request_ids, c.user_ids, c.product_ids, c.quantities, c.unit_prices, c.accepted_ms,
                        param(now_), param(deadline_)}});
    // A new statement, so a new snapshot: it sees the rows of every
    // transaction the insert waited for.
    queries.push_back({&request_outcomes(), {c.request_ids}});
    std::vector<Result> answers = connection_.run(queries);
    const Result& inserted = answers[answers.size() - 2];
    const Result& outcomes = answers.back();

    struct Created {
      OrderId id;
      ProductId product;
      std::int64_t quantity;
    };
    std::unordered_map<std::string_view, Created> created;
    for (int row = 0; row < inserted.rows(); ++row) {
      created[inserted.text(row, 0)] = {inserted.int64(row, 1), inserted.int64(row, 2), inserted.int64(row, 3)};
    }
    std::unordered_map<std::string_view, OrderId> orders;
    std::unordered_map<std::string_view, std::string_view> failures;
    for (int row = 0; row < outcomes.rows(); ++row) {
      if (outcomes.null(row, 1)) {
        failures[outcomes.text(row, 0)] = outcomes.text(row, 2);
      } else {
        orders[outcomes.text(row, 0)] = outcomes.int64(row, 1);
      }
    }

    std::vector<std::size_t> refused;
    for (std::size_t i : unsettled) {
      std::string_view request = events_[i].request_id;
      if (auto failure = failures.find(request); failure != failures.end()) {
        // Failed in a transaction that committed after this insert's
        // snapshot and before its row went in: the failure stands.
        if (auto mine = created.find(request); mine != created.end()) {
          withdrawn_.push_back(mine->second.id);
          created.erase(mine);
        } else if (orders.count(request) != 0) {
          throw PgError(PgError::Kind::internal, "",
                        "request " + std::string(request) + " is both an order and a failed request");
        }
        results_[i] = PersistResult{RequestStatus::failed, std::string(failure->second), 0};
      } else if (auto order = orders.find(request); order != orders.end()) {
        // New now, earlier in the batch, or persisted before: the same answer.
        results_[i] = PersistResult{RequestStatus::success, {}, order->second};
      } else {
        refused.push_back(i);
      }
    }
    for (const auto& [request, order] : created) changes_.order_created(order.product, order.quantity);
    return refused;
  }

  // Records the failures of `refused`; returns those whose user's product
  // was freed by a cancel in the meantime.
  std::vector<std::size_t> record_failures_of(const std::vector<std::size_t>& refused) {
    Columns c = columns_of(events_, refused);
    std::vector<Query> queries;
    withdraw(&queries);  // first: a withdrawn order holds its user's product no longer
    queries.push_back(
        {&record_failures(), {c.request_ids, c.user_ids, c.product_ids, c.quantities, kAlreadyPurchased, param(now_)}});
    queries.push_back({&read_failures(), {c.request_ids}});
    std::vector<Result> answers = connection_.run(queries);
    const Result& recorded = answers[answers.size() - 2];
    const Result& failures_now = answers.back();
    for (int row = 0; row < recorded.rows(); ++row) changes_.request_failed(recorded.int64(row, 1));
    std::unordered_map<std::string_view, std::string_view> failures;
    for (int row = 0; row < failures_now.rows(); ++row) failures[failures_now.text(row, 0)] = failures_now.text(row, 1);

    std::vector<std::size_t> again;
    for (std::size_t i : refused) {
      auto failure = failures.find(events_[i].request_id);
      if (failure == failures.end()) {
        again.push_back(i);
      } else {
        results_[i] = PersistResult{RequestStatus::failed, std::string(failure->second), 0};
      }
    }
    return again;
  }

  void withdraw(std::vector<Query>* queries) {
    if (withdrawn_.empty()) return;
    queries->push_back({&delete_orders(), {int_array(withdrawn_)}});
    withdrawn_.clear();
  }

  Connection& connection_;
  const std::vector<OrderEvent>& events_;
  const std::vector<bool>& unknown_product_;
  const UnixMillis now_;
  const UnixMillis deadline_;
  std::vector<PersistResult> results_;
  SalesChanges changes_;
  // Orders this transaction inserted for requests found failed: deleted in
  // the next round trip.
  std::vector<OrderId> withdrawn_;
};

}  // namespace

std::vector<PersistResult> persist_batch(Connection& connection, const std::vector<OrderEvent>& events,
                                         const std::vector<bool>& unknown_product, UnixMillis now, UnixMillis deadline) {
  if (events.empty()) return {};
  std::vector<PersistResult> results;
  bool any_unknown = std::find(unknown_product.begin(), unknown_product.end(), true) != unknown_product.end();
  if (!any_unknown && persist_fresh(connection, events, now, deadline, &results)) return results;
  return Batch(connection, events, unknown_product, now, deadline).run();
}

const Statement& request_outcomes() {
  static const Statement statement{
      "fs_request_outcomes",
      "SELECT request_id, id, NULL::text FROM orders WHERE request_id = ANY($1::text[])"
      " UNION ALL"
      " SELECT request_id, NULL::int8, reason FROM failed_requests WHERE request_id = ANY($1::text[])"};
  return statement;
}

}  // namespace flashsale::postgres
