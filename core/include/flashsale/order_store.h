// Stage 5, persist: the system of record. Holds the product catalog, the
// orders and one row per finished request. Unique request_id makes a
// redelivered event harmless; unique (user_id, product_id) backs one order per
// user per product.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flashsale/status.h"
#include "flashsale/types.h"

namespace flashsale {

// The outcome of persisting one event.
struct PersistResult {
  RequestStatus status = RequestStatus::failed;  // success or failed
  std::string reason;                            // why it failed
  OrderId order_id = 0;                          // when success
};

struct ProductSales {
  std::int64_t orders = 0;         // orders persisted
  std::int64_t quantity_sold = 0;  // sum of their quantities
  std::int64_t failed_requests = 0;
};

// Thread-safety: every method may be called from many threads at once.
class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // Persists a batch in one transaction and sets (*results)[i] for events[i].
  // An event whose request_id was persisted before gets the same result as the
  // first time (success with the same order_id, or the same failure). An event
  // whose (user, product) already has an order fails with reason
  // "already_purchased". A non-ok Status means nothing of the batch was written.
  virtual Status persist(const std::vector<OrderEvent>& events, std::vector<PersistResult>* results) noexcept = 0;

  // The final state of a persisted request; not_found if it was never persisted.
  virtual Status find_request(const std::string& request_id, RequestState* out) noexcept = 0;

  virtual Status create_product(const NewProduct& product, Product* created) noexcept = 0;
  virtual Status find_product(ProductId id, Product* out) noexcept = 0;  // not_found
  virtual Status sales(ProductId id, ProductSales* out) noexcept = 0;
};

}  // namespace flashsale
