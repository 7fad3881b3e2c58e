// Products as the API sees them: created and read through the persist stage,
// cached in process because the buy path needs a product's price on every
// request and products never change after creation (a top-up changes the
// product's sales totals, not the product). Preload hands a product's
// sellable stock to the admit stage.
#pragma once

#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "flashsale/admission.h"
#include "flashsale/order_store.h"

namespace flashsale {

class Catalog {
 public:
  Catalog(std::shared_ptr<OrderStore> store, std::shared_ptr<Admission> admission, std::int64_t stock_ttl_seconds);

  // Checks the fields (invalid_argument names the bad one) and stores it.
  Status create(const NewProduct& product, Product* created);
  Status find(ProductId id, Product* out);
  // The products this process has created or looked up, at most `limit`, by id.
  std::vector<ProductId> known(std::size_t limit);
  Status stock(ProductId id, StockLevel* level) { return admission_->stock(id, level); }
  Status sales(ProductId id, ProductSales* sales) { return store_->sales(id, sales); }

  // Loads initial stock plus the completed top-ups minus what orders hold
  // (active ones, and cancelled ones whose return is still on its way; a
  // top-up still on its way adds itself when it arrives) into the admit stage (a no-op
  // when the stage still holds the product), so neither a second preload nor
  // one after a restart resells. *loaded holds the stock level
  // the stage has afterwards.
  Status preload(ProductId id, SaleStock* loaded);

 private:
  std::shared_ptr<OrderStore> store_;
  std::shared_ptr<Admission> admission_;
  std::int64_t stock_ttl_seconds_;
  std::shared_mutex mutex_;
  std::unordered_map<ProductId, Product> cache_;
};

}  // namespace flashsale
