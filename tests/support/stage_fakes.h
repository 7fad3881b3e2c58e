// Bases for unit tests' fake stages: every method answers internal, so a
// fake overrides just what its test exercises and a call it did not expect
// shows up as an error instead of a silent success.
#pragma once

#include "flashsale/admission.h"
#include "flashsale/order_store.h"

namespace flashsale::test {

inline Status not_faked() {
  return Status(Code::internal, "not faked in this test");
}

class OrderStoreFake : public OrderStore {
 public:
  Status persist(const std::vector<OrderEvent>&, std::int64_t, std::vector<PersistResult>*) noexcept override {
    return not_faked();
  }
  Status find_request(const std::string&, RequestState*) noexcept override { return not_faked(); }
  Status create_product(const NewProduct&, Product*) noexcept override { return not_faked(); }
  Status find_product(ProductId, Product*) noexcept override { return not_faked(); }
  Status sales(ProductId, ProductSales*) noexcept override { return not_faked(); }
  Status find_order(OrderId, Order*) noexcept override { return not_faked(); }
  Status pay(OrderId, const std::string&, std::int64_t, Order*) noexcept override { return not_faked(); }
  Status cancel(OrderId, UserId, Order*) noexcept override { return not_faked(); }
  Status expire_due(UnixMillis, std::size_t, std::vector<Order>*) noexcept override { return not_faked(); }
  Status pending_stock_returns(std::size_t, std::vector<StockReturn>*) noexcept override { return not_faked(); }
  Status complete_stock_returns(const std::vector<OrderId>&) noexcept override { return not_faked(); }
  Status record_top_up(ProductId, std::int32_t, StockReturn*) noexcept override { return not_faked(); }
  Status complete_top_ups(const std::vector<TopUpId>&) noexcept override { return not_faked(); }
};

class AdmissionFake : public Admission {
 public:
  AdmitResult admit(const AdmitRequest&) noexcept override { return AdmitResult{not_faked(), {}, false}; }
  Status load_stock(const SaleStock&) noexcept override { return not_faked(); }
  Status stock(ProductId, StockLevel*) noexcept override { return not_faked(); }
  Status set_paused(ProductId, bool) noexcept override { return not_faked(); }
  Status return_stock(const StockReturn&) noexcept override { return not_faked(); }
};

}  // namespace flashsale::test
