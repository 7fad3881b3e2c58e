// outbox → relay. An outbox entry is acked only after the relay confirmed the
// event was durably written; an entry whose publication failed is retried by
// this worker (and, should it die, reclaimed from the outbox by another).
#pragma once

#include <memory>
#include <vector>

#include "flashsale/outbox.h"
#include "flashsale/relay.h"
#include "pipeline/counters.h"
#include "workers/worker.h"

namespace flashsale {

class RelayWorker : public Worker {
 public:
  RelayWorker(std::shared_ptr<Outbox> outbox, std::shared_ptr<Relay> relay, std::size_t batch_size,
              std::chrono::milliseconds linger, Counters* counters, std::int64_t crash_before_ack = 0);
  ~RelayWorker() override;

 protected:
  Step step() override;

 private:
  std::shared_ptr<Outbox> outbox_;
  std::shared_ptr<Relay> relay_;
  std::size_t batch_size_;
  Counters* counters_;
  std::vector<OutboxEntry> unpublished_;  // read, not yet confirmed by the relay

  // Failpoint (fault.crash.before.outbox.ack): exit abruptly before this ack,
  // after the batch is published, leaving its entries pending in the outbox
  // (to be reclaimed, or dead-lettered, by another relay).
  std::int64_t crash_before_ack_;
  std::int64_t acks_ = 0;
};

}  // namespace flashsale
