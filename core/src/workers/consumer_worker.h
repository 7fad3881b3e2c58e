// relay → persist → notify → commit. The relay position is committed only
// after the whole batch is persisted and every final state (and compensation)
// is recorded, so a crash anywhere before that redelivers the batch, which
// the unique keys and the once-only compensation make harmless.
//
// A persist failure that retrying will not cure (any code but unavailable)
// is narrowed down by persisting the batch's events one by one; each event
// that fails alone is reported to the relay (Relay::reject), which moves it
// to its dead letters after its limit of attempts. The rest of the batch
// then goes on, and the dead-lettered events commit with it: their requests
// stay pending until an operator replays them.
#pragma once

#include <memory>
#include <vector>

#include "flashsale/notifier.h"
#include "flashsale/order_store.h"
#include "flashsale/relay.h"
#include "pipeline/counters.h"
#include "workers/worker.h"

namespace flashsale {

class ConsumerWorker : public Worker {
 public:
  ConsumerWorker(std::shared_ptr<Relay> relay, std::shared_ptr<OrderStore> store, std::shared_ptr<Notifier> notifier,
                 std::size_t batch_size, std::chrono::milliseconds linger,
                 std::chrono::milliseconds payment_timeout, Counters* counters, std::int64_t crash_before_commit = 0);
  ~ConsumerWorker() override;

 protected:
  Step step() override;

 private:
  // After a permanent persist failure of the batch: persists each event
  // alone and rejects the failing ones. True when the batch (without the
  // dead-lettered events) is persisted; false to retry later.
  bool set_aside_failing();
  void count_persisted();  // the batch in hand, with its results
  // Records every event's final state; false (to retry later) if any failed.
  bool finish_batch();
  bool all_finished();  // every event of the batch has its final state recorded
  void count_finished(std::size_t i, UnixMillis now);  // counters and the accepted->final histogram

  std::shared_ptr<Relay> relay_;
  std::shared_ptr<OrderStore> store_;
  std::shared_ptr<Notifier> notifier_;
  std::size_t batch_size_;
  std::chrono::milliseconds payment_timeout_;  // of each order it creates
  Counters* counters_;

  // The batch in hand survives a failed step, so it is retried, not re-polled.
  std::vector<OrderEvent> batch_;
  std::vector<PersistResult> results_;  // empty until the batch is persisted
  std::vector<bool> finished_;          // per event: final state recorded

  // Failpoint (fault.crash.before.commit): exit abruptly before this commit,
  // after the batch is persisted and notified, to prove redelivery harmless.
  std::int64_t crash_before_commit_;
  std::int64_t commits_ = 0;
};

}  // namespace flashsale
