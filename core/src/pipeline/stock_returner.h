// Carries a cancelled order's quantity, or an operator's top-up, to the
// admit stage: hands it to Admission::return_stock (once per order or
// top-up, however often it is asked), then marks it complete in the persist
// stage. A crash in between leaves it pending, and whoever runs next (the
// expiry worker, or the next cancel's or top-up's caller) finishes it: the
// stock arrives exactly once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
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

  // Returns this order's stock if its return is still pending.
  Status return_order(const Order& order);

  // Hands a top-up just recorded (OrderStore::record_top_up) to the admit stage.
  Status return_top_up(const StockReturn& top_up);

  // Works off up to `limit` pending returns and top-ups, oldest first;
  // *completed says how many were completed. On an error the rest stay pending.
  Status return_pending(std::size_t limit, std::size_t* completed);

 private:
  Status give_back(const std::vector<StockReturn>& returns, std::size_t* completed);

  std::shared_ptr<OrderStore> store_;
  std::shared_ptr<Admission> admission_;
  Counters* counters_;
  const std::int64_t crash_before_return_;
  std::atomic<std::int64_t> returns_started_{0};
};

}  // namespace flashsale
