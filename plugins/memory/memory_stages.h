// How the memory Backend (memory_plugin.cpp) and the memory family's own
// tests make the stages. Admission, outbox and notifier are thin views of one
// shared SaleStore; the relay and the order store keep their state in the
// object itself (the host makes each stage once per process). Each function
// returns a new object owned by the caller and may throw std::bad_alloc.
#pragma once

#include <memory>

#include "flashsale/admission.h"
#include "flashsale/clock.h"
#include "flashsale/notifier.h"
#include "flashsale/order_store.h"
#include "flashsale/outbox.h"
#include "flashsale/relay.h"
#include "sale_store.h"

namespace flashsale::memory {

Admission* new_admission(std::shared_ptr<SaleStore> store);
Outbox* new_outbox(std::shared_ptr<SaleStore> store);
Notifier* new_notifier(std::shared_ptr<SaleStore> store);
Relay* new_relay();
// The order store reads the time (created_ms, a payment's deadline) from
// `clock`; the family's tests pass a fake one.
OrderStore* new_order_store(Clock clock = now_ms);

}  // namespace flashsale::memory
