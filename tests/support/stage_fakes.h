// Bases for unit tests' fake stages: every method answers internal, so a
// fake overrides just what its test exercises and a call it did not expect
// shows up as an error instead of a silent success.
#pragma once

#include "flashsale/admission.h"
#include "flashsale/order_store.h"
#include "flashsale/outbox.h"
#include "flashsale/relay.h"

namespace flashsale::test {

inline Status not_faked() {
  return Status(Code::internal, "not faked in this test");
}

// The dead-letter methods of an outbox or relay fake.
template <typename Stage>
class DeadLettersFake : public Stage {
 public:
  Status list_dead_letters(const std::string&, std::size_t, std::vector<DeadLetter>*) noexcept override {
    return not_faked();
  }
  Status find_dead_letter(const std::string&, DeadLetter*) noexcept override { return not_faked(); }
  Status replay_dead_letter(const std::string&) noexcept override { return not_faked(); }
};

class OutboxFake : public DeadLettersFake<Outbox> {
 public:
  Status read(std::size_t, std::chrono::milliseconds, std::vector<OutboxEntry>*) noexcept override {
    return not_faked();
  }
  Status ack(const std::vector<std::string>&) noexcept override { return not_faked(); }
  Status stats(OutboxStats*) noexcept override { return not_faked(); }
};

class RelayFake : public DeadLettersFake<Relay> {
 public:
  Status publish(const std::vector<OrderEvent>&, std::vector<bool>*) noexcept override { return not_faked(); }
  Status poll(std::size_t, std::chrono::milliseconds, std::vector<OrderEvent>*) noexcept override {
    return not_faked();
  }
  Status commit() noexcept override { return not_faked(); }
  Status reject(const OrderEvent&, const std::string&, bool*) noexcept override { return not_faked(); }
  Status stats(RelayStats*) noexcept override { return not_faked(); }
};

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
  Status pending_stock_returns(std::size_t, const StockReturnCursor&, std::vector<StockReturn>*) noexcept override {
    return not_faked();
  }
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
