// PostgresOrderStore's order lifecycle: pay, cancel, expiry and stock
// returns. Pay and cancel read the order FOR UPDATE inside a transaction, so
// what they decide on (the amount, the buyer, the deadline) is still true
// when their conditional UPDATE lands; the expiry and the completed returns
// are one statement each. Any move that finds the order no longer awaiting
// changes nothing; under the row lock that is a broken invariant, reported,
// never a second winner.
#include <algorithm>
#include <limits>

#include "flashsale/clock.h"
#include "order_sql.h"
#include "postgres_order_store.h"
#include "store_call.h"

namespace flashsale::postgres {

namespace {

const Statement kBegin{"", "BEGIN"};
const Statement kCommit{"", "COMMIT"};

// A size_t limit as LIMIT takes it.
std::string sql_limit(std::size_t limit) {
  return param(static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
}

Status no_such_order(OrderId id) {
  return Status(Code::not_found, "order " + std::to_string(id) + " does not exist");
}

// BEGIN and the order, locked until the transaction ends; false when there
// is no such order (the transaction is still open).
bool lock_order(Connection& connection, OrderId id, Order* out) {
  std::vector<Result> answers = connection.run({{&kBegin, {}}, {&order_sql::select_order_for_update(), {param(id)}}});
  if (answers[1].rows() == 0) return false;
  *out = order_sql::read_order(answers[1], 0);
  return true;
}

void commit(Connection& connection) {
  connection.run({{&kCommit, {}}});
}

// Moves the locked, awaiting *order with `move` (mark_paid or
// mark_cancelled, parameters after the id) and commits.
void move_and_commit(Connection& connection, const Order& order, const Statement& move, const std::string& what,
                     UnixMillis now) {
  std::vector<Result> answers = connection.run({{&move, {param(order.id), what, param(now)}}, {&kCommit, {}}});
  if (answers[0].affected() != 1) {
    throw PgError(PgError::Kind::internal, "",
                  "order " + std::to_string(order.id) + " was no longer awaiting payment under its row lock");
  }
}

void mark_cancelled(Order* order, const char* reason, UnixMillis now) {
  order->status = OrderStatus::cancelled;
  order->cancel_reason = reason;
  order->cancelled_ms = now;
  order->stock_return_pending = true;
}

}  // namespace

Status PostgresOrderStore::find_order(OrderId id, Order* out) noexcept {
  return store_call(pool_, "find_order", Replay::safe, [&](Connection& connection) {
    std::vector<Result> answers = connection.run({{&order_sql::select_order(), {param(id)}}});
    if (answers[0].rows() == 0) return no_such_order(id);
    *out = order_sql::read_order(answers[0], 0);
    return Status::ok();
  });
}

Status PostgresOrderStore::pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) noexcept {
  // Safe to run again: a payment that committed before the connection died
  // finds the order paid by itself, a replay.
  return store_call(pool_, "pay", Replay::safe, [&](Connection& connection) {
    Order order;
    if (!lock_order(connection, id, &order)) {
      commit(connection);
      return no_such_order(id);
    }
    if (order.amount != amount) {
      commit(connection);
      std::string message = "payment of " + std::to_string(amount) + " for order " + std::to_string(id) + " of " +
                            std::to_string(order.amount);
      *out = std::move(order);
      return Status(Code::amount_mismatch, std::move(message));
    }
    if (order.status == OrderStatus::awaiting_payment) {
      UnixMillis now = now_ms();
      if (now >= order.deadline_ms) {
        // What expire_due would do a moment later: the payment loses to it.
        move_and_commit(connection, order, order_sql::mark_cancelled(), kPaymentTimeout, now);
        mark_cancelled(&order, kPaymentTimeout, now);
      } else {
        move_and_commit(connection, order, order_sql::mark_paid(), payment_id, now);
        order.status = OrderStatus::paid;
        order.payment_id = payment_id;
        order.paid_ms = now;
      }
    } else {
      commit(connection);
    }
    *out = order;
    if (order.status == OrderStatus::paid) {
      if (order.payment_id == payment_id) return Status::ok();  // paid now, or a replay
      return Status(Code::already_paid, "order " + std::to_string(id) + " was paid by another payment");
    }
    return Status(Code::order_cancelled, "order " + std::to_string(id) + " is cancelled (" + order.cancel_reason + ")");
  });
}

Status PostgresOrderStore::cancel(OrderId id, UserId user_id, Order* out) noexcept {
  return store_call(pool_, "cancel", Replay::safe, [&](Connection& connection) {
    Order order;
    // Another user's order answers as a missing one: they learn nothing.
    if (!lock_order(connection, id, &order) || order.user_id != user_id) {
      commit(connection);
      return no_such_order(id);
    }
    if (order.status == OrderStatus::awaiting_payment) {
      UnixMillis now = now_ms();
      move_and_commit(connection, order, order_sql::mark_cancelled(), kUserCancelled, now);
      mark_cancelled(&order, kUserCancelled, now);
    } else {
      commit(connection);
    }
    *out = order;
    if (order.status == OrderStatus::paid)
      return Status(Code::already_paid, "order " + std::to_string(id) + " is paid");
    return Status::ok();  // cancelled now or before, for either reason
  });
}

Status PostgresOrderStore::expire_due(UnixMillis now, std::size_t limit, std::vector<Order>* cancelled) noexcept {
  // Run again after a lost connection, the orders the first run cancelled
  // are not in *cancelled; their stock returns are recorded all the same.
  return store_call(pool_, "expire_due", Replay::safe, [&](Connection& connection) {
    if (limit == 0) return Status::ok();
    // Nearly always nothing is due: one probe of the partial index says so
    // without writing anything.
    if (connection.run({{&order_sql::any_due(), {param(now)}}})[0].rows() == 0) return Status::ok();
    std::vector<Result> answers =
        connection.run({{&order_sql::expire_due(), {param(now), sql_limit(limit), kPaymentTimeout}}});
    for (int row = 0; row < answers[0].rows(); ++row) cancelled->push_back(order_sql::read_order(answers[0], row));
    return Status::ok();
  });
}

Status PostgresOrderStore::pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                                                 std::vector<StockReturn>* out) noexcept {
  return store_call(pool_, "pending_stock_returns", Replay::safe, [&](Connection& connection) {
    std::vector<Result> answers =
        connection.run({{&order_sql::select_returns(), {sql_limit(limit), param(after.after_order)}}});
    const Result& rows = answers[0];
    std::vector<StockReturn> pending;
    pending.reserve(static_cast<std::size_t>(rows.rows()));
    for (int row = 0; row < rows.rows(); ++row) {
      pending.push_back(StockReturn{rows.int64(row, 0), std::string(rows.text(row, 1)), rows.int64(row, 2),
                                    rows.int64(row, 3), static_cast<std::int32_t>(rows.int64(row, 4)), 0});
    }
    if (pending.size() < limit) {
      answers = connection.run(
          {{&order_sql::select_top_ups(), {sql_limit(limit - pending.size()), param(after.after_top_up)}}});
      const Result& top_ups = answers[0];
      for (int row = 0; row < top_ups.rows(); ++row) {
        pending.push_back(StockReturn{
            0, {}, 0, top_ups.int64(row, 1), static_cast<std::int32_t>(top_ups.int64(row, 2)), top_ups.int64(row, 0)});
      }
    }
    *out = std::move(pending);
    return Status::ok();
  });
}

Status PostgresOrderStore::complete_stock_returns(const std::vector<OrderId>& order_ids) noexcept {
  return store_call(pool_, "complete_stock_returns", Replay::safe, [&](Connection& connection) {
    if (order_ids.empty()) return Status::ok();
    connection.run({{&order_sql::complete_returns(), {int_array(order_ids)}}});
    return Status::ok();
  });
}

// Not replayed: the insert may have committed before the connection died,
// and a second one would add the stock twice.
Status PostgresOrderStore::record_top_up(ProductId product_id, std::int32_t quantity, StockReturn* top_up) noexcept {
  return store_call(pool_, "record_top_up", Replay::never, [&](Connection& connection) {
    if (quantity <= 0) return Status(Code::invalid_argument, "a top-up needs a positive quantity");
    std::vector<Result> answers = connection.run(
        {{&order_sql::record_top_up(), {param(product_id), param(std::int64_t{quantity}), param(now_ms())}}});
    if (answers[0].rows() == 0) {
      return Status(Code::not_found, "product " + std::to_string(product_id) + " does not exist");
    }
    *top_up = StockReturn{0, {}, 0, product_id, quantity, answers[0].int64(0, 0)};
    return Status::ok();
  });
}

Status PostgresOrderStore::complete_top_ups(const std::vector<TopUpId>& top_up_ids) noexcept {
  return store_call(pool_, "complete_top_ups", Replay::safe, [&](Connection& connection) {
    if (top_up_ids.empty()) return Status::ok();
    connection.run({{&order_sql::complete_top_ups(), {int_array(top_up_ids)}}});
    return Status::ok();
  });
}

}  // namespace flashsale::postgres
