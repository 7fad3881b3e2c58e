#include "pipeline/sale_admin.h"

#include "pipeline/catalog.h"
#include "pipeline/stock_returner.h"

namespace flashsale {

SaleAdmin::SaleAdmin(Catalog* catalog, std::shared_ptr<OrderStore> store, std::shared_ptr<Admission> admission,
                     StockReturner* returner)
    : catalog_(catalog), store_(std::move(store)), admission_(std::move(admission)), returner_(returner) {}

Status SaleAdmin::set_paused(ProductId id, bool paused) {
  Product product;
  Status status = catalog_->find(id, &product);
  if (!status.is_ok()) return status;
  return admission_->set_paused(id, paused);
}

Status SaleAdmin::top_up(ProductId id, std::int64_t quantity, TopUpOutcome* out) {
  if (quantity < 1 || quantity > kMaxTopUp) {
    return {Code::invalid_argument, "add must be between 1 and " + std::to_string(kMaxTopUp)};
  }
  Product product;
  Status status = catalog_->find(id, &product);
  if (!status.is_ok()) return status;
  StockLevel level;
  status = admission_->stock(id, &level);
  if (!status.is_ok()) return status;
  if (!level.preloaded) return {Code::not_preloaded, "product " + std::to_string(id) + " holds no stock to top up"};

  TopUpOutcome outcome;
  status = store_->record_top_up(id, static_cast<std::int32_t>(quantity), &outcome.top_up);
  if (!status.is_ok()) return status;
  // Recorded: from here the top-up happens, now or through the expiry
  // worker's retries, so the answer is ok either way and says which.
  outcome.applied = returner_->return_top_up(outcome.top_up).is_ok();
  if (outcome.applied && admission_->stock(id, &level).is_ok() && level.preloaded) outcome.remaining = level.remaining;
  ProductSales sales;
  if (store_->sales(id, &sales).is_ok()) outcome.total_stock = product.stock + sales.quantity_added;
  *out = outcome;
  return Status::ok();
}

}  // namespace flashsale
