// Carries a cancelled order's quantity back to the admit stage: hands it to
// Admission::return_stock (once per order, however often it is asked), then
// marks the return complete in the persist stage. A crash in between leaves
// the return pending, and whoever runs next (the expiry worker, or the next
// cancel's caller) finishes it: stock comes back exactly once.
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

  // Works off up to `limit` pending returns, oldest first; *completed says
  // how many were completed. On an error the rest stay pending.
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
