// The server's own account of a product's stock (GET /api/admin/reconcile):
// what the load test compares with what its clients saw, before the run,
// after the stampede and after the order lifecycle.
#pragma once

#include <cstdint>
#include <string>

#include "api_client.h"

namespace flashsale::loadtest {

struct Reconciliation {
  bool ok = false;  // the endpoint answered 200
  std::string body;
  std::int64_t initial_stock = 0;
  std::int64_t admit_remaining = -1;  // -1: not preloaded
  std::int64_t in_flight = -1;
  bool reconciled = false;
  std::int64_t orders = 0;         // ever created, in any state
  std::int64_t quantity_sold = 0;  // awaiting payment + paid
  std::int64_t orders_awaiting_payment = 0;
  std::int64_t orders_paid = 0;
  std::int64_t orders_cancelled = 0;
  std::int64_t quantity_awaiting_payment = 0;
  std::int64_t quantity_paid = 0;
  std::int64_t quantity_cancelled = 0;
  std::int64_t returns_pending = 0;  // cancelled, stock not yet back in the admit stage
};

// One GET; ok is false on any other answer or a transport error (body says why).
Reconciliation read_reconciliation(client::HttpClient& client, std::int64_t product, const std::string& admin_token);

}  // namespace flashsale::loadtest
