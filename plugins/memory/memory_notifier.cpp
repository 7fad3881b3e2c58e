// Stage 6 of the memory family: final request states and the compensation of
// failed admissions, both in the SaleStore that admission wrote to.
#include <utility>

#include "flashsale/boundary.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

class MemoryNotifier final : public Notifier {
 public:
  explicit MemoryNotifier(std::shared_ptr<SaleStore> store) : store_(std::move(store)) {}

  Status finish(const OrderEvent& event, const PersistResult& result) noexcept override {
    return guarded("memory finish", [&] { return store_->finish(event, result); });
  }

  Status lookup(const std::string& request_id, RequestState* out) noexcept override {
    return guarded("memory lookup", [&] { return store_->lookup(request_id, out); });
  }

  Status backfill(const RequestState& state) noexcept override {
    return guarded("memory backfill", [&] { return store_->backfill(state); });
  }

 private:
  std::shared_ptr<SaleStore> store_;
};

}  // namespace

Notifier* new_notifier(std::shared_ptr<SaleStore> store) {
  return new MemoryNotifier(std::move(store));
}

}  // namespace flashsale::memory
