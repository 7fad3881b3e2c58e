// Stage 3 of the memory family: the relay worker's view of the outbox queue
// that admission appends to (outbox_queue.h holds the delivery rules).
#include <utility>

#include "flashsale/boundary.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

class MemoryOutbox final : public Outbox {
 public:
  explicit MemoryOutbox(std::shared_ptr<SaleStore> store) : store_(std::move(store)) {}

  Status read(std::size_t max, std::chrono::milliseconds wait, std::vector<OutboxEntry>* out) noexcept override {
    return guarded("memory outbox read", [&] {
      store_->outbox().read(max, wait, out);
      return Status::ok();
    });
  }

  Status ack(const std::vector<std::string>& ids) noexcept override {
    return guarded("memory outbox ack", [&] {
      store_->outbox().ack(ids);
      return Status::ok();
    });
  }

  Status stats(OutboxStats* stats) noexcept override {
    return guarded("memory outbox stats", [&] {
      *stats = store_->outbox().stats();
      return Status::ok();
    });
  }

  Status list_dead_letters(const std::string& after, std::size_t limit,
                           std::vector<DeadLetter>* out) noexcept override {
    return guarded("memory outbox dead letters", [&] { return store_->outbox().list_dead_letters(after, limit, out); });
  }

  Status find_dead_letter(const std::string& id, DeadLetter* out) noexcept override {
    return guarded("memory outbox dead letter", [&] { return store_->outbox().find_dead_letter(id, out); });
  }

  Status replay_dead_letter(const std::string& id) noexcept override {
    return guarded("memory outbox replay", [&] { return store_->outbox().replay_dead_letter(id); });
  }

 private:
  std::shared_ptr<SaleStore> store_;
};

}  // namespace

Outbox* new_outbox(std::shared_ptr<SaleStore> store) {
  return new MemoryOutbox(std::move(store));
}

}  // namespace flashsale::memory
