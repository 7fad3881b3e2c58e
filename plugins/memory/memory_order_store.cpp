// Stage 5 of the memory family: the system of record of the embedded profile
// (catalog, orders and one outcome per request), all in this object under one
// lock. A batch is worked out in a staging area first and then moved in with
// operations that cannot fail, so persist is all-or-nothing as the contract
// asks: an exception while staging leaves the store as it was.
#include <map>
#include <unordered_map>
#include <utility>

#include "flashsale/boundary.h"
#include "memory_stages.h"

namespace flashsale::memory {

namespace {

using OrderKey = std::pair<UserId, ProductId>;

class MemoryOrderStore final : public OrderStore {
 public:
  Status persist(const std::vector<OrderEvent>& events, std::vector<PersistResult>* results) noexcept override {
    return guarded("memory persist", [&] {
      std::lock_guard lock(mutex_);
      Batch batch{{}, {}, {}, next_order_id_};
      std::vector<PersistResult> staged;
      staged.reserve(events.size());
      for (const OrderEvent& event : events) staged.push_back(stage(event, &batch));
      requests_.reserve(requests_.size() + batch.requests.size());  // last step that may throw
      commit(&batch);
      *results = std::move(staged);
      return Status::ok();
    });
  }

  Status find_request(const std::string& request_id, RequestState* out) noexcept override {
    return guarded("memory find_request", [&] {
      std::lock_guard lock(mutex_);
      auto found = requests_.find(request_id);
      if (found == requests_.end()) return Status(Code::not_found, "request " + request_id + " was never persisted");
      const PersistResult& result = found->second;
      *out = RequestState{request_id, result.status, result.reason, result.order_id};
      return Status::ok();
    });
  }

  Status create_product(const NewProduct& product, Product* created) noexcept override {
    return guarded("memory create_product", [&] {
      if (product.name.empty() || product.stock < 0 || product.sale_price < 0 || product.end_ms <= product.start_ms) {
        return Status(Code::invalid_argument, "product needs a name, stock >= 0, sale_price >= 0 and start < end");
      }
      std::lock_guard lock(mutex_);
      Product row;
      static_cast<NewProduct&>(row) = product;
      row.id = next_product_id_;
      sales_.emplace(row.id, ProductSales{});
      products_.emplace(row.id, row);
      ++next_product_id_;
      *created = std::move(row);
      return Status::ok();
    });
  }

  Status find_product(ProductId id, Product* out) noexcept override {
    return guarded("memory find_product", [&] {
      std::lock_guard lock(mutex_);
      auto found = products_.find(id);
      if (found == products_.end()) return Status(Code::not_found, "no product " + std::to_string(id));
      *out = found->second;
      return Status::ok();
    });
  }

  Status sales(ProductId id, ProductSales* out) noexcept override {
    return guarded("memory sales", [&] {
      std::lock_guard lock(mutex_);
      auto found = sales_.find(id);
      if (found == sales_.end()) return Status(Code::not_found, "no product " + std::to_string(id));
      *out = found->second;
      return Status::ok();
    });
  }

 private:
  // What a batch adds, before it is moved into the store.
  struct Batch {
    std::unordered_map<std::string, PersistResult> requests;
    std::map<OrderKey, OrderId> orders;
    std::map<ProductId, ProductSales> sales;  // new totals of the products touched
    OrderId next_order_id;
  };

  PersistResult stage(const OrderEvent& event, Batch* batch) {
    if (auto done = requests_.find(event.request_id); done != requests_.end()) return done->second;
    if (auto done = batch->requests.find(event.request_id); done != batch->requests.end()) return done->second;

    auto totals = sales_.find(event.product_id);
    PersistResult result;
    if (totals == sales_.end()) {
      result.reason = "unknown_product";
    } else {
      OrderKey key{event.user_id, event.product_id};
      ProductSales& sales = batch->sales.try_emplace(event.product_id, totals->second).first->second;
      if (orders_.count(key) != 0 || batch->orders.count(key) != 0) {
        result.reason = "already_purchased";
        ++sales.failed_requests;
      } else {
        result.status = RequestStatus::success;
        result.order_id = batch->next_order_id++;
        batch->orders.emplace(key, result.order_id);
        ++sales.orders;
        sales.quantity_sold += event.quantity;
      }
    }
    batch->requests.emplace(event.request_id, result);
    return result;
  }

  // Nothing here allocates: nodes move between maps (requests_ has room
  // reserved) and the sales totals of known products are assigned in place.
  void commit(Batch* batch) noexcept {
    requests_.merge(batch->requests);
    orders_.merge(batch->orders);
    for (const auto& [id, totals] : batch->sales) sales_.find(id)->second = totals;
    next_order_id_ = batch->next_order_id;
  }

  std::mutex mutex_;
  ProductId next_product_id_ = 1;
  OrderId next_order_id_ = 1;
  std::map<ProductId, Product> products_;
  std::map<ProductId, ProductSales> sales_;
  std::map<OrderKey, OrderId> orders_;                       // the one order a user has for a product
  std::unordered_map<std::string, PersistResult> requests_;  // one outcome per request_id
};

}  // namespace

OrderStore* new_order_store() {
  return new MemoryOrderStore();
}

}  // namespace flashsale::memory
