// The expiry worker (role expirer, and part of role consumer): every scan
// interval it cancels the orders whose payment deadline has passed and
// carries cancelled orders' stock back to the admit stage. Both live in the
// system of record (deadlines and pending returns), so a restart, a crash or
// a second process running it loses nothing and cancels nothing twice.
#pragma once

#include <chrono>
#include <memory>

#include "flashsale/order_store.h"
#include "pipeline/counters.h"
#include "pipeline/stock_returner.h"
#include "workers/worker.h"

namespace flashsale {

class ExpiryWorker : public Worker {
 public:
  ExpiryWorker(std::shared_ptr<OrderStore> store, StockReturner* returner, std::size_t batch_size,
               std::chrono::milliseconds scan_interval, Counters* counters);
  ~ExpiryWorker() override;

 protected:
  Step step() override;

 private:
  std::shared_ptr<OrderStore> store_;
  StockReturner* returner_;
  std::size_t batch_size_;
  std::chrono::milliseconds scan_interval_;
  Counters* counters_;
};

}  // namespace flashsale
