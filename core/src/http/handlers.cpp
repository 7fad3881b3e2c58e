// The sale's and the products' endpoints. Expected failures arrive as a
// Status and leave through error_mapping, so each has one HTTP status and one
// error code.
#include "http/handlers.h"

#include <charconv>
#include <string>
#include <vector>

#include "flashsale/clock.h"
#include "http/error_mapping.h"
#include "http/json.h"
#include "pipeline/buy_service.h"
#include "http/payment_signature.h"
#include "pipeline/catalog.h"
#include "pipeline/order_service.h"
#include "pipeline/result_service.h"
#include "pipeline/sale_admin.h"

namespace flashsale::handlers {

namespace {

bool parse_id(std::string_view text, std::int64_t* id) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return ec == std::errc() && end == text.data() + text.size() && *id > 0;
}

HttpResponse no_product(std::string_view id_text) {
  return HttpResponse::error(404, "not_found", "no product " + std::string(id_text));
}

HttpResponse no_order(std::string_view id_text) {
  return HttpResponse::error(404, "not_found", "no order " + std::string(id_text));
}

std::string order_json(const Order& order) {
  JsonWriter json;
  json.field("order_id", order.id)
      .field("request_id", order.request_id)
      .field("user_id", order.user_id)
      .field("product_id", order.product_id)
      .field("quantity", std::int64_t{order.quantity})
      .field("amount", order.amount)
      .field("status", order_status_name(order.status))
      .field("created_time", format_rfc3339(order.created_ms))
      .field("payment_deadline", format_rfc3339(order.deadline_ms));
  if (order.status == OrderStatus::paid) {
    json.field("payment_id", order.payment_id).field("paid_time", format_rfc3339(order.paid_ms));
  }
  if (order.status == OrderStatus::cancelled) {
    json.field("reason", order.cancel_reason)
        .field("cancelled_time", format_rfc3339(order.cancelled_ms))
        .field("stock_returned", !order.stock_return_pending);
  }
  return json.done();
}

// An answer about an order that exists: 200 with the order, or the error
// with the order as it stands beside it (the reason of a cancel inside the
// error too, for a payment provider that reads only the error).
HttpResponse order_response(const Status& status, const Order& order) {
  if (status.is_ok()) return HttpResponse::json(200, order_json(order));
  if (status.code() == Code::not_found) return status_response(status);
  HttpError mapped = http_error_for(status.code());
  JsonWriter error;
  error.field("code", mapped.code).field("message", status.message());
  if (status.code() == Code::order_cancelled) error.field("reason", order.cancel_reason);
  return HttpResponse::json(mapped.http_status,
                            JsonWriter().raw("error", error.done()).raw("order", order_json(order)).done());
}

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "[";
  for (std::int64_t value : values) {
    if (out.size() > 1) out += ',';
    out += std::to_string(value);
  }
  return out + ']';
}

std::string product_json(const Product& product, const StockLevel* level) {
  JsonWriter json;
  json.field("id", product.id)
      .field("name", product.name)
      .field("stock", product.stock)
      .field("sale_price", product.sale_price)
      .field("start_time", format_rfc3339(product.start_ms))
      .field("end_time", format_rfc3339(product.end_ms))
      .field("stock_shards", std::int64_t{product.stock_shards});
  if (level != nullptr) {
    json.field("preloaded", level->preloaded).field("paused", level->paused);
    if (level->preloaded)
      json.field("remaining", level->remaining);
    else
      json.raw("remaining", "null");
    // Only a stage that shards the stock reports it per shard (admission.h).
    if (level->preloaded && !level->shards.empty()) json.raw("remaining_by_shard", int_array(level->shards));
  }
  return json.done();
}

}  // namespace

HttpResponse status_response(const Status& status) {
  HttpError error = http_error_for(status.code());
  return HttpResponse::error(error.http_status, error.code, status.message());
}

HttpResponse buy(const ApiContext& context, const HttpRequest& request, std::string_view) {
  BuyRequest buy;
  buy.idempotency_key = std::string(request.header("X-Idempotency-Key"));
  JsonObject json;
  std::string error;
  if (JsonObject::parse(request.body, &json, &error)) {
    auto user = json.integer("user_id", &error);
    buy.has_user = user.has_value() && *user > 0;
    if (buy.has_user)
      buy.user_id = *user;
    else if (user)
      error = "user_id must be positive";
    auto product = json.integer("product_id", &error);
    if (product && *product <= 0) error = "product_id must be positive";
    auto quantity = json.integer("quantity", &error);
    if (product) buy.product_id = *product;
    if (quantity) buy.quantity = *quantity;
  }
  buy.invalid = error;
  if (!buy.has_user) buy.client_ip = request.client_ip;  // the rate-limit subject

  BuyOutcome outcome = context.buy->buy(buy);
  if (outcome.rate_limited) return HttpResponse::error(429, "rate_limited", "too many requests; retry later");
  if (!outcome.status.is_ok()) return status_response(outcome.status);
  // A replay reports where the first request stands now, which may be final.
  RequestState state;
  state.status = RequestStatus::pending;
  if (outcome.replayed && !context.results->lookup(outcome.request_id, &state).is_ok()) {
    state.status = RequestStatus::pending;
  }
  JsonWriter json_out;
  json_out.field("request_id", outcome.request_id).field("status", status_name(state.status));
  if (outcome.replayed) json_out.field("replayed", true);
  return HttpResponse::json(202, json_out.done());
}

HttpResponse result(const ApiContext& context, const HttpRequest&, std::string_view request_id) {
  RequestState state;
  Status status = context.results->lookup(std::string(request_id), &state);
  if (!status.is_ok()) return status_response(status);
  JsonWriter json;
  json.field("request_id", request_id).field("status", status_name(state.status));
  if (state.status == RequestStatus::failed) json.field("reason", state.reason);
  if (state.status == RequestStatus::success) {
    json.field("order_id", state.order_id);
    // Best effort: the request's outcome is the answer; a store that cannot
    // say where its order stands now leaves the field out.
    Order order;
    if (context.orders->find(state.order_id, &order).is_ok()) {
      json.field("order_status", order_status_name(order.status));
    }
  }
  return HttpResponse::json(200, json.done());
}

HttpResponse get_order(const ApiContext& context, const HttpRequest&, std::string_view id_text) {
  OrderId id = 0;
  if (!parse_id(id_text, &id)) return no_order(id_text);
  Order order;
  return order_response(context.orders->find(id, &order), order);
}

HttpResponse pay_order(const ApiContext& context, const HttpRequest& request, std::string_view id_text) {
  if (context.payment_webhook_secret.empty()) {
    return HttpResponse::error(503, "payments_disabled", "payment.webhook.secret is not set on this server");
  }
  if (!payment_signature_valid(context.payment_webhook_secret, request.body,
                               request.header("X-Payment-Signature"))) {
    return HttpResponse::error(401, "invalid_signature",
                               "X-Payment-Signature must be sha256=<hex HMAC-SHA256 of the body>");
  }
  OrderId id = 0;
  if (!parse_id(id_text, &id)) return no_order(id_text);
  JsonObject json;
  std::string error;
  std::string payment_id;
  std::int64_t amount = 0;
  if (JsonObject::parse(request.body, &json, &error)) {
    auto payment = json.string("payment_id", &error);
    auto paid = json.integer("amount", &error);
    if (payment && (payment->empty() || payment->size() > 128)) error = "payment_id must be 1 to 128 characters";
    if (paid && *paid < 0) error = "amount must not be negative";
    if (payment) payment_id = std::move(*payment);
    if (paid) amount = *paid;
  }
  if (!error.empty()) return HttpResponse::error(400, "invalid_request", error);
  Order order;
  return order_response(context.orders->pay(id, payment_id, amount, &order), order);
}

HttpResponse cancel_order(const ApiContext& context, const HttpRequest& request, std::string_view id_text) {
  OrderId id = 0;
  if (!parse_id(id_text, &id)) return no_order(id_text);
  JsonObject json;
  std::string error;
  UserId user = 0;
  if (JsonObject::parse(request.body, &json, &error)) {
    auto given = json.integer("user_id", &error);
    if (given && *given <= 0) error = "user_id must be positive";
    if (given) user = *given;
  }
  if (!error.empty()) return HttpResponse::error(400, "invalid_request", error);
  Order order;
  return order_response(context.orders->cancel(id, user, &order), order);
}

HttpResponse create_product(const ApiContext& context, const HttpRequest& request, std::string_view) {
  JsonObject json;
  std::string error;
  NewProduct product;
  if (JsonObject::parse(request.body, &json, &error)) {
    auto name = json.string("name", &error);
    auto stock = json.integer("stock", &error);
    auto price = json.integer("sale_price", &error);
    auto start = json.string("start_time", &error);
    auto end = json.string("end_time", &error);
    if (name) product.name = *name;
    if (stock) product.stock = *stock;
    if (price) product.sale_price = *price;
    if (start && !parse_rfc3339(*start, &product.start_ms)) error = "start_time must be an RFC 3339 time";
    if (end && !parse_rfc3339(*end, &product.end_ms)) error = "end_time must be an RFC 3339 time";
    if (json.has("stock_shards")) {
      auto shards = json.integer("stock_shards", &error);
      if (shards && (*shards < 1 || *shards > kMaxStockShards)) {
        error = "stock_shards must be between 1 and " + std::to_string(kMaxStockShards);
      } else if (shards) {
        product.stock_shards = static_cast<std::int32_t>(*shards);
      }
    }
  }
  if (!error.empty()) return HttpResponse::error(400, "invalid_request", error);
  Product created;
  Status status = context.catalog->create(product, &created);
  if (!status.is_ok()) return status_response(status);
  return HttpResponse::json(201, product_json(created, nullptr));
}

HttpResponse get_product(const ApiContext& context, const HttpRequest&, std::string_view id_text) {
  ProductId id = 0;
  if (!parse_id(id_text, &id)) return no_product(id_text);
  Product product;
  Status status = context.catalog->find(id, &product);
  if (!status.is_ok()) return status_response(status);
  StockLevel level;
  status = context.catalog->stock(id, &level);
  if (!status.is_ok()) return status_response(status);
  return HttpResponse::json(200, product_json(product, &level));
}

HttpResponse preload(const ApiContext& context, const HttpRequest&, std::string_view id_text) {
  ProductId id = 0;
  if (!parse_id(id_text, &id)) return no_product(id_text);
  SaleStock loaded;
  Status status = context.catalog->preload(id, &loaded);
  if (!status.is_ok()) return status_response(status);
  return HttpResponse::json(200, JsonWriter().field("product_id", id).field("remaining", loaded.sellable).done());
}

// What an operator (or the load test) needs to check that stock adds up:
// initial + completed top-ups = remaining in the admit stage + awaiting
// payment + paid + returns pending + in flight (admitted, not yet an order or
// a compensated failure).
HttpResponse reconcile(const ApiContext& context, const HttpRequest&, std::string_view id_text) {
  ProductId id = 0;
  if (!parse_id(id_text, &id)) return no_product(id_text);
  Product product;
  StockLevel level;
  ProductSales sales;
  Status status = context.catalog->find(id, &product);
  if (status.is_ok()) status = context.catalog->stock(id, &level);
  if (status.is_ok()) status = context.catalog->sales(id, &sales);
  if (!status.is_ok()) return status_response(status);
  JsonWriter json;
  json.field("product_id", id)
      .field("initial_stock", product.stock)
      .field("preloaded", level.preloaded)
      .field("orders", sales.orders)
      .field("quantity_sold", sales.quantity_awaiting_payment + sales.quantity_paid)
      .field("failed_requests", sales.failed_requests)
      .field("orders_awaiting_payment", sales.orders_awaiting_payment)
      .field("orders_paid", sales.orders_paid)
      .field("orders_cancelled", sales.orders_cancelled)
      .field("quantity_awaiting_payment", sales.quantity_awaiting_payment)
      .field("quantity_paid", sales.quantity_paid)
      .field("quantity_cancelled", sales.quantity_cancelled)
      .field("stock_returns_pending", sales.quantity_returns_pending)
      .field("stock_added", sales.quantity_added)
      .field("stock_top_ups_pending", sales.quantity_top_ups_pending)
      .field("paused", level.paused);
  if (level.preloaded) {
    std::int64_t in_flight =
        product.stock + sales.quantity_added_complete() - level.remaining - sales.quantity_held();
    json.field("admit_remaining", level.remaining).field("in_flight", in_flight).field("reconciled", in_flight == 0);
    if (!level.shards.empty()) json.raw("admit_remaining_by_shard", int_array(level.shards));
  } else {
    json.raw("admit_remaining", "null").raw("in_flight", "null").field("reconciled", false);
  }
  return HttpResponse::json(200, json.done());
}

namespace {

HttpResponse set_paused(const ApiContext& context, std::string_view id_text, bool paused) {
  ProductId id = 0;
  if (!parse_id(id_text, &id)) return no_product(id_text);
  Status status = context.sale_admin->set_paused(id, paused);
  if (!status.is_ok()) return status_response(status);
  return HttpResponse::json(200, JsonWriter().field("product_id", id).field("paused", paused).done());
}

}  // namespace

HttpResponse pause_sale(const ApiContext& context, const HttpRequest&, std::string_view id_text) {
  return set_paused(context, id_text, true);
}

HttpResponse resume_sale(const ApiContext& context, const HttpRequest&, std::string_view id_text) {
  return set_paused(context, id_text, false);
}

HttpResponse top_up_stock(const ApiContext& context, const HttpRequest& request, std::string_view id_text) {
  ProductId id = 0;
  if (!parse_id(id_text, &id)) return no_product(id_text);
  JsonObject json;
  std::string error;
  std::int64_t add = 0;
  if (JsonObject::parse(request.body, &json, &error)) {
    auto given = json.integer("add", &error);
    if (given && (*given < 1 || *given > SaleAdmin::kMaxTopUp)) {
      error = "add must be between 1 and " + std::to_string(SaleAdmin::kMaxTopUp);
    }
    if (given) add = *given;
  }
  if (!error.empty()) return HttpResponse::error(400, "invalid_request", error);
  TopUpOutcome outcome;
  Status status = context.sale_admin->top_up(id, add, &outcome);
  if (!status.is_ok()) return status_response(status);
  JsonWriter json_out;
  json_out.field("product_id", id)
      .field("top_up_id", outcome.top_up.top_up_id)
      .field("added", add)
      .field("applied", outcome.applied);
  if (outcome.remaining) {
    json_out.field("remaining", *outcome.remaining);
  } else {
    json_out.raw("remaining", "null");
  }
  if (outcome.total_stock) {
    json_out.field("total_stock", *outcome.total_stock);
  } else {
    json_out.raw("total_stock", "null");
  }
  return HttpResponse::json(200, json_out.done());
}

}  // namespace flashsale::handlers
