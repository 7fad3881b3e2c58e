// Carries a cancelled order's quantity, or an operator's top-up, to the
// admit stage: hands it to Admission::return_stock (once per order or
// top-up, however often it is asked), then marks it complete in the persist
// stage. A crash in between leaves it pending, and whoever runs next (the
// expiry worker, or the next cancel's or top-up's caller) finishes it: the
// stock arrives exactly once. A return the admit stage cannot take yet (it
// holds no stock for the product: not_preloaded) stays pending too, and
// counts as held for a preload until stock is loaded and it is handed over
// again; the walk over the pending returns goes on past it (a cursor), so
// such returns never hold up the others.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "flashsale/admission.h"
#include "flashsale/order_store.h"
#include "pipeline/counters.h"

namespace flashsale {

class StockReturner {
 public:
  // crash_before_return: failpoint fault.crash.before.stock.return, the
  // process exits abruptly before its Nth return reaches the admit stage (0 = off).
  StockReturner(std::shared_ptr<OrderStore> store, std::shared_ptr<Admission> admission, Counters* counters,
                std::int64_t crash_before_return = 0);

  // Returns this order's stock if its return is still pending: ok once it
  // is complete, not_preloaded when it stays pending for want of stock.
  Status return_order(const Order& order);

  // Hands a top-up just recorded (OrderStore::record_top_up) to the admit
  // stage: ok once it is complete, not_preloaded when it stays pending.
  Status return_top_up(const StockReturn& top_up);

  // Works off the next `limit` pending returns and top-ups past where the
  // last call stopped, starting over from the oldest once a call finds fewer
  // than `limit`; *completed says how many were completed. Returns the admit
  // stage cannot take yet stay pending and are not an error; on an error the
  // rest stay pending.
  Status return_pending(std::size_t limit, std::size_t* completed);

 private:
  // *completed: how many were completed; *deferred: how many stay pending
  // for want of stock.
  Status give_back(const std::vector<StockReturn>& returns, std::size_t* completed, std::size_t* deferred);

  std::shared_ptr<OrderStore> store_;
  std::shared_ptr<Admission> admission_;
  Counters* counters_;
  const std::int64_t crash_before_return_;
  std::atomic<std::int64_t> returns_started_{0};
  std::mutex cursor_mutex_;
  StockReturnCursor cursor_;  // where return_pending goes on
};

}  // namespace flashsale
