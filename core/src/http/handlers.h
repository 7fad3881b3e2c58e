// The API's handlers, one per endpoint; api.cpp says which route reaches
// which and guards the admin ones. Each turns a request (and the path
// segment its route matched) into a response, and maps a Status to an HTTP
// status and error code through error_mapping.
#pragma once

#include <string_view>

#include "flashsale/status.h"
#include "http/api.h"
#include "http/message.h"

namespace flashsale::handlers {

// The answer to a failed Status: its HTTP status and error code (error_mapping).
HttpResponse status_response(const Status& status);

HttpResponse buy(const ApiContext& context, const HttpRequest& request, std::string_view param);
HttpResponse result(const ApiContext& context, const HttpRequest& request, std::string_view request_id);
HttpResponse create_product(const ApiContext& context, const HttpRequest& request, std::string_view param);
HttpResponse get_product(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse preload(const ApiContext& context, const HttpRequest& request, std::string_view id);
// The order lifecycle: read, pay (a payment provider's signed webhook) and
// cancel (by the buyer) an order.
HttpResponse get_order(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse pay_order(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse cancel_order(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse reconcile(const ApiContext& context, const HttpRequest& request, std::string_view id);
// An operator on a live sale: pause and resume a product's sale (buys then
// answer 409 sale_paused), and add stock to it (body {"add": N}).
HttpResponse pause_sale(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse resume_sale(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse top_up_stock(const ApiContext& context, const HttpRequest& request, std::string_view id);
// Dead letters of ?source=outbox (default) or relay: a page of them
// (?limit=, ?after=), one, a replay of one, and a bounded replay of all
// (?limit=); dead_letter_handlers.cpp.
HttpResponse list_dead_letters(const ApiContext& context, const HttpRequest& request, std::string_view param);
HttpResponse get_dead_letter(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse replay_dead_letter(const ApiContext& context, const HttpRequest& request, std::string_view id);
HttpResponse replay_dead_letters(const ApiContext& context, const HttpRequest& request, std::string_view param);
HttpResponse healthz(const ApiContext& context, const HttpRequest& request, std::string_view param);
// GET /readyz: 200 when every backend this process's roles use can be
// reached now, else 503 not_ready naming each that cannot.
HttpResponse readyz(const ApiContext& context, const HttpRequest& request, std::string_view param);
// GET /openapi.json: the API description (docs/openapi.json).
HttpResponse openapi(const ApiContext& context, const HttpRequest& request, std::string_view param);
// GET /dashboard: the live sale page (docs/dashboard.html), which polls /metrics.
HttpResponse dashboard(const ApiContext& context, const HttpRequest& request, std::string_view param);
// GET /metrics: every metric in the Prometheus text format.
HttpResponse metrics(const ApiContext& context, const HttpRequest& request, std::string_view param);
// GET /livez: the process is up and its I/O threads answer; a fixed answer.
HttpResponse livez(const ApiContext& context, const HttpRequest& request, std::string_view param);

}  // namespace flashsale::handlers
