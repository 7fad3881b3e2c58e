// Which path reaches which handler, which of them need the admin token, and
// and how the handlers reach the services.
#include "http/api.h"

#include <optional>

#include "http/admin_guard.h"
#include "http/handlers.h"

namespace flashsale {

namespace {

using Endpoint = HttpResponse (*)(const ApiContext&, const HttpRequest&, std::string_view);

Router::Handler anyone(const ApiContext* context, Endpoint endpoint) {
  return [context, endpoint](const HttpRequest& request, std::string_view param) {
    return endpoint(*context, request, param);
  };
}

Router::Handler admin_only(const ApiContext* context, Endpoint endpoint) {
  return [context, endpoint](const HttpRequest& request, std::string_view param) {
    if (std::optional<HttpResponse> refusal = context->admin->check(request)) return std::move(*refusal);
    return endpoint(*context, request, param);
  };
}

}  // namespace

void add_api_routes(const ApiContext* context, Router* router) {
  constexpr bool kBlocking = true;  // calls a backend
  router->add("POST", "/api/flash_sale/buy", kBlocking, anyone(context, handlers::buy));
  router->add("GET", "/api/flash_sale/result/{}", kBlocking, anyone(context, handlers::result));
  router->add("POST", "/api/products", kBlocking, admin_only(context, handlers::create_product));
  router->add("GET", "/api/products/{}", kBlocking, anyone(context, handlers::get_product));
  router->add("POST", "/api/flash_sale/preload/{}", kBlocking, admin_only(context, handlers::preload));
  router->add("GET", "/api/orders/{}", kBlocking, anyone(context, handlers::get_order));
  router->add("POST", "/api/orders/{}/pay", kBlocking, anyone(context, handlers::pay_order));
  router->add("POST", "/api/orders/{}/cancel", kBlocking, anyone(context, handlers::cancel_order));
  router->add("GET", "/api/admin/reconcile/{}", kBlocking, admin_only(context, handlers::reconcile));
  // The exact replay path first: "replay" is no dead letter id.
  router->add("POST", "/api/admin/dead-letters/replay", kBlocking, admin_only(context, handlers::replay_dead_letters));
  router->add("GET", "/api/admin/dead-letters", kBlocking, admin_only(context, handlers::list_dead_letters));
  router->add("GET", "/api/admin/dead-letters/{}", kBlocking, admin_only(context, handlers::get_dead_letter));
  router->add("POST", "/api/admin/dead-letters/{}/replay", kBlocking,
              admin_only(context, handlers::replay_dead_letter));
  router->add("GET", "/healthz", !kBlocking, anyone(context, handlers::healthz));
  router->add("GET", "/livez", !kBlocking, anyone(context, handlers::livez));
  router->add("GET", "/readyz", kBlocking, anyone(context, handlers::readyz));
  router->add("GET", "/openapi.json", !kBlocking, anyone(context, handlers::openapi));
}

}  // namespace flashsale
