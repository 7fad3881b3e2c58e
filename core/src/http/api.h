// The HTTP API as a route table: each endpoint a handler from HttpRequest to
// HttpResponse, with no socket in sight, so the connection layer serves it and
// tests call it directly.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/router.h"

namespace flashsale {

class AdminGuard;
class MetricsRegistry;
class BuyService;
class DeadLetters;
class Catalog;
class OrderService;
class ResultService;
class SaleAdmin;
struct Counters;

// One backend family's answer to GET /readyz.
struct BackendReadiness {
  std::string family;
  std::string stages;  // comma separated
  bool ready = false;
  std::string problem;  // when not ready
};

struct ApiContext {
  Catalog* catalog = nullptr;
  BuyService* buy = nullptr;
  ResultService* results = nullptr;
  OrderService* orders = nullptr;
  SaleAdmin* sale_admin = nullptr;
  std::string payment_webhook_secret;  // empty: payments are refused
  // The backends this process's roles use, each asked now.
  std::function<std::vector<BackendReadiness>()> readiness;
  Counters* counters = nullptr;
  // GET /metrics serves it; every route's requests and durations go into it.
  MetricsRegistry* metrics = nullptr;
  AdminGuard* admin = nullptr;                 // guards the admin endpoints
  DeadLetters* outbox_dead_letters = nullptr;  // the outbox stage's
  DeadLetters* relay_dead_letters = nullptr;   // the relay stage's
};

// Adds every endpoint of the API to `router`. `context` (and what it points
// to) must outlive the router.
void add_api_routes(const ApiContext* context, Router* router);

}  // namespace flashsale
