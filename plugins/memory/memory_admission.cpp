// Stage 2 of the memory family: the admit step. The work happens in
// SaleStore, under the product's ledger lock; this is the boundary that keeps
// exceptions inside the plugin.
#include <utility>

#include "flashsale/boundary.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

class MemoryAdmission final : public Admission {
 public:
  explicit MemoryAdmission(std::shared_ptr<SaleStore> store) : store_(std::move(store)) {}

  AdmitResult admit(const AdmitRequest& request) noexcept override {
    AdmitResult result;
    Status status = guarded("memory admit", [&] {
      result = store_->admit(request);
      return Status::ok();
    });
    if (!status.is_ok()) result = AdmitResult{std::move(status), {}, false};
    return result;
  }

  Status load_stock(const SaleStock& stock) noexcept override {
    return guarded("memory load_stock", [&] { return store_->load_stock(stock); });
  }

  Status stock(ProductId product_id, StockLevel* level) noexcept override {
    return guarded("memory stock", [&] {
      *level = store_->stock(product_id);
      return Status::ok();
    });
  }

  Status set_paused(ProductId product_id, bool paused) noexcept override {
    return guarded("memory set_paused", [&] {
      store_->set_paused(product_id, paused);
      return Status::ok();
    });
  }

  Status return_stock(const StockReturn& stock_return) noexcept override {
    return guarded("memory return_stock", [&] { return store_->return_stock(stock_return); });
  }

 private:
  std::shared_ptr<SaleStore> store_;
};

}  // namespace

Admission* new_admission(std::shared_ptr<SaleStore> store) {
  return new MemoryAdmission(std::move(store));
}

}  // namespace flashsale::memory
