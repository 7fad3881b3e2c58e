#include "pipeline/stock_returner.h"

#include <algorithm>
#include <cstdlib>

#include "host/stderr_logger.h"

namespace flashsale {

StockReturner::StockReturner(std::shared_ptr<OrderStore> store, std::shared_ptr<Admission> admission,
                             Counters* counters, std::int64_t crash_before_return)
    : store_(std::move(store)),
      admission_(std::move(admission)),
      counters_(counters),
      crash_before_return_(crash_before_return) {}

namespace {

Status stays_pending(const StockReturn& stock_return) {
  return Status(Code::not_preloaded, "product " + std::to_string(stock_return.product_id) +
                                         " has no stock loaded: its return stays pending until it has");
}

}  // namespace

Status StockReturner::return_order(const Order& order) {
  if (order.status != OrderStatus::cancelled || !order.stock_return_pending) return Status::ok();
  StockReturn stock_return{order.id, order.request_id, order.user_id, order.product_id, order.quantity, 0};
  std::size_t completed = 0, deferred = 0;
  Status status = give_back({stock_return}, &completed, &deferred);
  return status.is_ok() && deferred > 0 ? stays_pending(stock_return) : status;
}

Status StockReturner::return_top_up(const StockReturn& top_up) {
  std::size_t completed = 0, deferred = 0;
  Status status = give_back({top_up}, &completed, &deferred);
  return status.is_ok() && deferred > 0 ? stays_pending(top_up) : status;
}

Status StockReturner::return_pending(std::size_t limit, std::size_t* completed) {
  *completed = 0;
  StockReturnCursor after;
  {
    std::lock_guard lock(cursor_mutex_);
    after = cursor_;
  }
  std::vector<StockReturn> pending;
  Status status = store_->pending_stock_returns(limit, after, &pending);
  if (!status.is_ok()) return status;
  StockReturnCursor next = after;
  if (pending.size() < limit) {
    next = StockReturnCursor{};  // the end: the next call starts over
  } else {
    for (const StockReturn& stock_return : pending) {
      if (stock_return.is_top_up()) {
        next.after_top_up = std::max(next.after_top_up, stock_return.top_up_id);
      } else {
        next.after_order = std::max(next.after_order, stock_return.order_id);
      }
    }
  }
  std::size_t deferred = 0;
  status = give_back(pending, completed, &deferred);
  if (status.is_ok()) {  // after an error the same returns come first again
    std::lock_guard lock(cursor_mutex_);
    cursor_ = next;
  }
  return status;
}

Status StockReturner::give_back(const std::vector<StockReturn>& returns, std::size_t* completed,
                                std::size_t* deferred) {
  std::vector<OrderId> returned;
  std::vector<TopUpId> topped_up;
  Status status;
  for (const StockReturn& stock_return : returns) {
    if (crash_before_return_ > 0 && ++returns_started_ == crash_before_return_) {
      stderr_logger().log(LogLevel::error, "stock returner",
                          std::string("failpoint fault.crash.before.stock.return: exiting before ") +
                              (stock_return.is_top_up() ? "top-up " + std::to_string(stock_return.top_up_id)
                                                        : "order " + std::to_string(stock_return.order_id)) +
                              " is in the admit stage");
      std::_Exit(86);
    }
    status = admission_->return_stock(stock_return);
    if (status.code() == Code::not_preloaded) {
      ++*deferred;
      status = Status::ok();
      continue;
    }
    if (!status.is_ok()) break;
    if (stock_return.is_top_up()) {
      topped_up.push_back(stock_return.top_up_id);
    } else {
      returned.push_back(stock_return.order_id);
    }
  }
  // Whatever is not marked complete here is handed over again next time: the
  // admit stage takes each once.
  if (!returned.empty()) {
    Status marked = store_->complete_stock_returns(returned);
    if (!marked.is_ok()) return marked;
    *completed += returned.size();
  }
  if (!topped_up.empty()) {
    Status marked = store_->complete_top_ups(topped_up);
    if (!marked.is_ok()) return marked;
    *completed += topped_up.size();
  }
  bump(counters_->stock_returned, *completed);
  return status;
}

}  // namespace flashsale
