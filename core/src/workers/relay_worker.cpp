#include "workers/relay_worker.h"

#include <cstdlib>

namespace flashsale {

RelayWorker::RelayWorker(std::shared_ptr<Outbox> outbox, std::shared_ptr<Relay> relay, std::size_t batch_size,
                         std::chrono::milliseconds linger, Counters* counters, std::int64_t crash_before_ack)
    : Worker("relay-worker", linger),
      outbox_(std::move(outbox)),
      relay_(std::move(relay)),
      batch_size_(batch_size),
      counters_(counters),
      crash_before_ack_(crash_before_ack) {}

RelayWorker::~RelayWorker() {
  drain_and_stop(std::chrono::milliseconds(0));
}

Worker::Step RelayWorker::step() {
  using namespace std::chrono_literals;
  if (unpublished_.empty()) {
    Status read = outbox_->read(batch_size_, 200ms, &unpublished_);
    if (!read.is_ok()) {
      bump(counters_->worker_errors);
      log(LogLevel::warning, "outbox read: " + read.message());
      return Step::failed;
    }
    if (unpublished_.empty()) return Step::idle;
    if (linger_for_more(unpublished_.size(), batch_size_)) {
      // Failing to top up is not a failure: the batch in hand goes on.
      Status more = outbox_->read(batch_size_ - unpublished_.size(), 0ms, &unpublished_);
      if (!more.is_ok()) log(LogLevel::warning, "outbox read: " + more.message());
    }
    for (const OutboxEntry& entry : unpublished_) {
      if (entry.deliveries > 1) bump(counters_->outbox_redeliveries);
    }
  }

  // The events are lent to publish (moved out, not copied) and an entry that
  // was not delivered gets its event back for the retry.
  std::vector<OrderEvent> events;
  events.reserve(unpublished_.size());
  for (OutboxEntry& entry : unpublished_) events.push_back(std::move(entry.event));
  std::vector<bool> delivered;
  auto publish_start = std::chrono::steady_clock::now();
  Status published = relay_->publish(events, &delivered);
  counters_->relay_publish_us.record(elapsed_us(publish_start));
  delivered.resize(events.size(), false);

  std::vector<std::string> acked;
  std::vector<OutboxEntry> retry;
  for (std::size_t i = 0; i < unpublished_.size(); ++i) {
    if (delivered[i]) {
      acked.push_back(std::move(unpublished_[i].id));
    } else {
      unpublished_[i].event = std::move(events[i]);
      retry.push_back(std::move(unpublished_[i]));
    }
  }
  unpublished_ = std::move(retry);
  if (!acked.empty()) {
    if (crash_before_ack_ > 0 && ++acks_ == crash_before_ack_) {
      log(LogLevel::error, "failpoint fault.crash.before.outbox.ack: exiting before ack");
      std::_Exit(86);
    }
    // A failed ack only means the entries are relayed again later: harmless.
    Status ack = outbox_->ack(acked);
    if (!ack.is_ok()) log(LogLevel::warning, "outbox ack: " + ack.message());
    bump(counters_->relayed, acked.size());
  }
  if (!unpublished_.empty()) {
    bump(counters_->relay_retries, unpublished_.size());
    if (!published.is_ok()) log(LogLevel::warning, "publish: " + published.message());
    return Step::failed;
  }
  return Step::worked;
}

}  // namespace flashsale
