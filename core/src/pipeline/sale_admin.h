// An operator's hands on a live sale: pause and resume a product's sale in
// the admit stage (where admit() checks it, in every process sharing the
// stage), and top up its stock. A top-up is recorded in the persist stage
// first and then handed to the admit stage like a cancelled order's stock
// return (StockReturner), so admissions in flight, a crash in between and a
// later preload all see it exactly once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "flashsale/admission.h"
#include "flashsale/order_store.h"

namespace flashsale {

class Catalog;
class StockReturner;

struct TopUpOutcome {
  StockReturn top_up;    // as recorded, with its top_up_id
  bool applied = false;  // the admit stage has it; else it stays pending for the expiry worker
  // Read after it, when they could be: the admit stage's remaining stock,
  // and the initial stock plus every top-up recorded.
  std::optional<std::int64_t> remaining;
  std::optional<std::int64_t> total_stock;
};

class SaleAdmin {
 public:
  static constexpr std::int64_t kMaxTopUp = 1'000'000'000;  // the bound of a product's initial stock

  SaleAdmin(Catalog* catalog, std::shared_ptr<OrderStore> store, std::shared_ptr<Admission> admission,
            StockReturner* returner);

  // not_found for an unknown product; otherwise as Admission::set_paused.
  Status set_paused(ProductId id, bool paused);

  // Adds `quantity` (1 to kMaxTopUp) to a product whose stock is loaded in
  // the admit stage: not_found for an unknown product, not_preloaded when the
  // stage holds no stock (a top-up then would only reach the next preload,
  // which is what creating the product with more stock is for),
  // invalid_argument for a quantity out of bounds.
  Status top_up(ProductId id, std::int64_t quantity, TopUpOutcome* out);

 private:
  Catalog* catalog_;
  std::shared_ptr<OrderStore> store_;
  std::shared_ptr<Admission> admission_;
  StockReturner* returner_;
};

}  // namespace flashsale
