// SqliteOrderStore's order lifecycle: pay, cancel, expiry and stock returns.
// Each move reads the order and writes it under one BEGIN IMMEDIATE
// transaction on the writer connection, so the read is still true when the
// write lands, in this process or any other on the file; the UPDATEs also
// require the order to be awaiting, and a write that finds it otherwise is a
// broken invariant, never a second winner.
#include "sqlite_order_store.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/Utility.h>

#include <algorithm>
#include <limits>

#include "flashsale/clock.h"
#include "order_sql.h"
#include "sales_totals.h"
#include "sqlite_error.h"
#include "sqlite_schema.h"

namespace flashsale::sqlite {

namespace {

sqlite3* handle(Poco::Data::Session& session) {
  return Poco::Data::SQLite::Utility::dbHandle(session);
}

// A size_t limit as SQLite's LIMIT takes it.
std::int64_t sql_limit(std::size_t limit) {
  return static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

// The write of a move that read the order as awaiting inside the same
// transaction must change exactly that row.
void expect_one_row(const StatementRun& write, OrderId id) {
  if (write.changes() != 1) {
    throw Poco::Data::DataException("order " + std::to_string(id) + " changed under the write lock");
  }
}

// The current row of a statement of order_sql::select_order or select_due.
Order read_order(const StatementRun& row) {
  Order order;
  order.id = row.int64_column(0);
  order.request_id = row.text_column(1);
  order.user_id = row.int64_column(2);
  order.product_id = row.int64_column(3);
  order.quantity = static_cast<std::int32_t>(row.int64_column(4));
  order.amount = row.int64_column(5);
  order.status = order_status_from_stored(row.int64_column(6));
  order.cancel_reason = row.text_column(7);
  order.payment_id = row.text_column(8);
  order.created_ms = row.int64_column(9);
  order.deadline_ms = row.int64_column(10);
  order.paid_ms = row.int64_column(11);
  order.cancelled_ms = row.int64_column(12);
  order.stock_return_pending = row.int64_column(13) != 0;
  return order;
}

Status no_such_order(OrderId id) {
  return Status(Code::not_found, "order " + std::to_string(id) + " does not exist");
}

}  // namespace

bool SqliteOrderStore::read_for_update(OrderId id, Order* out) {
  StatementRun select = select_order_.run();
  select.bind(1, id);
  if (!select.next_row()) return false;
  *out = read_order(select);
  return true;
}

void SqliteOrderStore::cancel_awaiting(Order* order, const char* reason, UnixMillis now, SalesChanges* changes) {
  {
    StatementRun mark = mark_cancelled_.run();
    mark.bind(1, order->id);
    mark.bind(2, reason);
    mark.bind(3, now);
    mark.next_row();
    expect_one_row(mark, order->id);
  }
  StatementRun record = record_return_.run();
  record.bind(1, order->id);
  record.next_row();
  changes->order_cancelled(*order);
  order->status = OrderStatus::cancelled;
  order->cancel_reason = reason;
  order->cancelled_ms = now;
  order->stock_return_pending = true;
}

Status SqliteOrderStore::find_order(OrderId id, Order* out) noexcept {
  return guarded("find_order", [&] {
    Order order;
    {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      StatementRun select = read_order_.run();
      select.bind(1, id);
      if (!select.next_row()) return no_such_order(id);
      order = read_order(select);
    }
    *out = std::move(order);
    return Status::ok();
  });
}

Status SqliteOrderStore::pay(OrderId id, const std::string& payment_id, std::int64_t amount, Order* out) noexcept {
  return guarded("pay", [&] {
    Order order;
    std::lock_guard<std::mutex> lock(writer_mutex_);
    WriteTransaction transaction(handle(writer_));
    if (!read_for_update(id, &order)) return no_such_order(id);
    if (order.amount != amount) {
      std::string message = "payment of " + std::to_string(amount) + " for order " + std::to_string(id) + " of " +
                            std::to_string(order.amount);
      *out = std::move(order);
      return Status(Code::amount_mismatch, std::move(message));
    }
    if (order.status == OrderStatus::awaiting_payment) {
      UnixMillis now = now_ms();
      SalesChanges changes;
      if (now >= order.deadline_ms) {
        // What expire_due would do a moment later: the payment loses to it.
        cancel_awaiting(&order, kPaymentTimeout, now, &changes);
      } else {
        StatementRun mark = mark_paid_.run();
        mark.bind(1, id);
        mark.bind(2, payment_id);
        mark.bind(3, now);
        mark.next_row();
        expect_one_row(mark, id);
        changes.order_paid(order);
        order.status = OrderStatus::paid;
        order.payment_id = payment_id;
        order.paid_ms = now;
      }
      changes.add_to(add_sales_);
      transaction.commit();
    }
    *out = order;
    if (order.status == OrderStatus::paid) {
      if (order.payment_id == payment_id) return Status::ok();  // paid now, or a replay
      return Status(Code::already_paid, "order " + std::to_string(id) + " was paid by another payment");
    }
    return Status(Code::order_cancelled, "order " + std::to_string(id) + " is cancelled (" + order.cancel_reason + ")");
  });
}

Status SqliteOrderStore::cancel(OrderId id, UserId user_id, Order* out) noexcept {
  return guarded("cancel", [&] {
    Order order;
    std::lock_guard<std::mutex> lock(writer_mutex_);
    WriteTransaction transaction(handle(writer_));
    // Another user's order answers as a missing one: they learn nothing.
    if (!read_for_update(id, &order) || order.user_id != user_id) return no_such_order(id);
    if (order.status == OrderStatus::awaiting_payment) {
      SalesChanges changes;
      cancel_awaiting(&order, kUserCancelled, now_ms(), &changes);
      changes.add_to(add_sales_);
      transaction.commit();
    }
    *out = order;
    if (order.status == OrderStatus::paid) {
      return Status(Code::already_paid, "order " + std::to_string(id) + " is paid");
    }
    return Status::ok();  // cancelled now or before, for either reason
  });
}

Status SqliteOrderStore::expire_due(UnixMillis now, std::size_t limit, std::vector<Order>* cancelled) noexcept {
  return guarded("expire_due", [&] {
    if (limit == 0) return Status::ok();
    {
      // Nearly always nothing is due: one probe of the partial index on the
      // reader answers that without the write lock, which persist wants.
      std::lock_guard<std::mutex> lock(reader_mutex_);
      StatementRun probe = read_any_due_.run();
      probe.bind(1, now);
      if (!probe.next_row()) return Status::ok();
    }
    std::vector<Order> due;
    std::lock_guard<std::mutex> lock(writer_mutex_);
    WriteTransaction transaction(handle(writer_));
    {
      StatementRun select = select_due_.run();
      select.bind(1, now);
      select.bind(2, sql_limit(limit));
      while (select.next_row()) due.push_back(read_order(select));
    }
    SalesChanges changes;
    for (Order& order : due) cancel_awaiting(&order, kPaymentTimeout, now, &changes);
    changes.add_to(add_sales_);
    transaction.commit();
    cancelled->insert(cancelled->end(), std::make_move_iterator(due.begin()), std::make_move_iterator(due.end()));
    return Status::ok();
  });
}

Status SqliteOrderStore::pending_stock_returns(std::size_t limit, const StockReturnCursor& after,
                                               std::vector<StockReturn>* out) noexcept {
  return guarded("pending_stock_returns", [&] {
    std::vector<StockReturn> pending;
    {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      StatementRun select = read_returns_.run();
      select.bind(1, sql_limit(limit));
      select.bind(2, after.after_order);
      while (select.next_row()) {
        pending.push_back(StockReturn{select.int64_column(0), select.text_column(1), select.int64_column(2),
                                      select.int64_column(3), static_cast<std::int32_t>(select.int64_column(4)), 0});
      }
      if (pending.size() < limit) {
        StatementRun top_ups = read_top_ups_.run();
        top_ups.bind(1, sql_limit(limit - pending.size()));
        top_ups.bind(2, after.after_top_up);
        while (top_ups.next_row()) {
          pending.push_back(StockReturn{0,
                                        {},
                                        0,
                                        top_ups.int64_column(1),
                                        static_cast<std::int32_t>(top_ups.int64_column(2)),
                                        top_ups.int64_column(0)});
        }
      }
    }
    *out = std::move(pending);
    return Status::ok();
  });
}

Status SqliteOrderStore::complete_stock_returns(const std::vector<OrderId>& order_ids) noexcept {
  return guarded("complete_stock_returns", [&] {
    if (order_ids.empty()) return Status::ok();
    std::lock_guard<std::mutex> lock(writer_mutex_);
    WriteTransaction transaction(handle(writer_));
    SalesChanges changes;
    for (OrderId id : order_ids) {
      ProductId product = 0;
      std::int64_t quantity = 0;
      {
        StatementRun select = select_return_.run();
        select.bind(1, id);
        if (!select.next_row()) continue;  // not pending: completed before, or never cancelled
        product = select.int64_column(0);
        quantity = select.int64_column(1);
      }
      StatementRun remove = delete_return_.run();
      remove.bind(1, id);
      remove.next_row();
      changes.return_completed(product, quantity);
    }
    changes.add_to(add_sales_);
    transaction.commit();
    return Status::ok();
  });
}

Status SqliteOrderStore::record_top_up(ProductId product_id, std::int32_t quantity, StockReturn* top_up) noexcept {
  return guarded("record_top_up", [&] {
    if (quantity <= 0) return Status(Code::invalid_argument, "a top-up needs a positive quantity");
    TopUpId id = 0;
    {
      std::lock_guard<std::mutex> lock(writer_mutex_);
      StatementRun insert = record_top_up_.run();
      insert.bind(1, product_id);
      insert.bind(2, std::int64_t{quantity});
      insert.bind(3, now_ms());
      insert.next_row();
      if (insert.changes() == 0) {
        return Status(Code::not_found, "product " + std::to_string(product_id) + " does not exist");
      }
      id = insert.last_insert_rowid();
    }
    *top_up = StockReturn{0, {}, 0, product_id, quantity, id};
    return Status::ok();
  });
}

Status SqliteOrderStore::complete_top_ups(const std::vector<TopUpId>& top_up_ids) noexcept {
  return guarded("complete_top_ups", [&] {
    if (top_up_ids.empty()) return Status::ok();
    std::lock_guard<std::mutex> lock(writer_mutex_);
    WriteTransaction transaction(handle(writer_));
    for (TopUpId id : top_up_ids) {
      StatementRun complete = complete_top_up_.run();
      complete.bind(1, id);
      complete.next_row();
    }
    transaction.commit();
    return Status::ok();
  });
}

}  // namespace flashsale::sqlite
