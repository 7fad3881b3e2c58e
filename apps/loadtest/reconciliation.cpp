#include "reconciliation.h"

namespace flashsale::loadtest {

Reconciliation read_reconciliation(client::HttpClient& client, std::int64_t product, const std::string& admin_token) {
  client::HttpReply reply;
  Reconciliation r;
  try {
    reply = client.get("/api/admin/reconcile/" + std::to_string(product), {{"X-Admin-Token", admin_token}});
  } catch (const std::exception& e) {
    r.body = e.what();
    return r;
  }
  r.body = reply.body;
  r.ok = reply.status == 200 && !reply.json.isNull();
  if (!r.ok) return r;
  r.initial_stock = reply.num("initial_stock");
  r.admit_remaining = reply.num("admit_remaining");
  r.in_flight = reply.num("in_flight");
  r.reconciled = reply.json->optValue<bool>("reconciled", false);
  r.orders = reply.num("orders");
  r.quantity_sold = reply.num("quantity_sold");
  r.orders_awaiting_payment = reply.num("orders_awaiting_payment");
  r.orders_paid = reply.num("orders_paid");
  r.orders_cancelled = reply.num("orders_cancelled");
  r.quantity_awaiting_payment = reply.num("quantity_awaiting_payment");
  r.quantity_paid = reply.num("quantity_paid");
  r.quantity_cancelled = reply.num("quantity_cancelled");
  r.returns_pending = reply.num("stock_returns_pending");
  return r;
}

}  // namespace flashsale::loadtest
