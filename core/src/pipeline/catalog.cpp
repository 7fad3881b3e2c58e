#include "pipeline/catalog.h"

#include <algorithm>
#include <mutex>
#include <string>

namespace flashsale {

Catalog::Catalog(std::shared_ptr<OrderStore> store, std::shared_ptr<Admission> admission,
                 std::int64_t stock_ttl_seconds)
    : store_(std::move(store)), admission_(std::move(admission)), stock_ttl_seconds_(stock_ttl_seconds) {}

Status Catalog::create(const NewProduct& product, Product* created) {
  if (product.name.empty() || product.name.size() > 200) {
    return {Code::invalid_argument, "name must be 1 to 200 characters"};
  }
  if (product.stock < 0 || product.stock > 1'000'000'000) {
    return {Code::invalid_argument, "stock must be between 0 and 1000000000"};
  }
  if (product.sale_price < 0) return {Code::invalid_argument, "sale_price must not be negative"};
  if (product.end_ms <= product.start_ms) return {Code::invalid_argument, "end_time must be after start_time"};
  if (product.stock_shards < 1 || product.stock_shards > kMaxStockShards) {
    return {Code::invalid_argument, "stock_shards must be between 1 and " + std::to_string(kMaxStockShards)};
  }
  Status status = store_->create_product(product, created);
  if (status.is_ok()) {
    std::unique_lock lock(mutex_);
    cache_[created->id] = *created;
  }
  return status;
}

std::vector<ProductId> Catalog::known(std::size_t limit) {
  std::vector<ProductId> ids;
  {
    std::shared_lock lock(mutex_);
    ids.reserve(cache_.size());
    for (const auto& [id, product] : cache_) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  if (ids.size() > limit) ids.resize(limit);
  return ids;
}

Status Catalog::find(ProductId id, Product* out) {
  {
    std::shared_lock lock(mutex_);
    auto it = cache_.find(id);
    if (it != cache_.end()) {
      *out = it->second;
      return Status::ok();
    }
  }
  Status status = store_->find_product(id, out);
  if (status.is_ok()) {
    std::unique_lock lock(mutex_);
    cache_[id] = *out;
  }
  return status;
}

Status Catalog::preload(ProductId id, SaleStock* loaded) {
  Product product;
  Status status = find(id, &product);
  if (!status.is_ok()) return status;
  ProductSales sales;
  status = store_->sales(id, &sales);
  if (!status.is_ok()) return status;
  SaleStock stock;
  stock.product_id = id;
  stock.sellable = std::max<std::int64_t>(0, product.stock + sales.quantity_added_complete() - sales.quantity_held());
  stock.start_ms = product.start_ms;
  stock.end_ms = product.end_ms;
  stock.ttl_seconds = stock_ttl_seconds_;
  stock.shards = product.stock_shards;
  status = admission_->load_stock(stock);
  if (!status.is_ok()) return status;
  // The stage keeps a live stock level as it is; report what it holds now.
  StockLevel level;
  status = admission_->stock(id, &level);
  if (status.is_ok()) stock.sellable = level.remaining;
  *loaded = stock;
  return status;
}

}  // namespace flashsale
