#include "workers/expiry_worker.h"


#include "flashsale/clock.h"

namespace flashsale {

ExpiryWorker::ExpiryWorker(std::shared_ptr<OrderStore> store, StockReturner* returner, std::size_t batch_size,
                           std::chrono::milliseconds scan_interval, Counters* counters)
    : Worker("expiry-worker", std::chrono::milliseconds(0)),
      store_(std::move(store)),
      returner_(returner),
      batch_size_(batch_size),
      scan_interval_(scan_interval),
      counters_(counters) {}

ExpiryWorker::~ExpiryWorker() {
  drain_and_stop(std::chrono::milliseconds(0));
}

Worker::Step ExpiryWorker::step() {
  std::vector<Order> expired;
  Status status = store_->expire_due(now_ms(), batch_size_, &expired);
  if (!status.is_ok()) {
    bump(counters_->worker_errors);
    log(LogLevel::warning, std::string("expire: ") + code_name(status.code()) + ": " + status.message());
    return Step::failed;
  }
  bump(counters_->orders_expired, expired.size());
  std::size_t returned = 0;
  status = returner_->return_pending(batch_size_, &returned);
  if (!status.is_ok()) {
    bump(counters_->worker_errors);
    log(LogLevel::warning, std::string("stock return: ") + code_name(status.code()) + ": " + status.message());
    return Step::failed;
  }
  // A full batch of either means more may be waiting: go on without a pause.
  if (expired.size() == batch_size_ || returned == batch_size_) return Step::worked;
  pause(scan_interval_);
  return Step::idle;
}

}  // namespace flashsale
