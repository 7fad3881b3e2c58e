#include "http/api.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <charconv>
#include <istream>

#include "flashsale/clock.h"
#include "http/error_mapping.h"
#include "http/json.h"
#include "pipeline/buy_service.h"
#include "pipeline/catalog.h"
#include "pipeline/result_service.h"

namespace flashsale {

namespace {

using Poco::Net::HTTPRequest;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

void send(HTTPServerResponse& response, int status, const std::string& body) {
  response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.setContentLength64(static_cast<Poco::Int64>(body.size()));
  response.send().write(body.data(), static_cast<std::streamsize>(body.size()));
}

void send_error(HTTPServerResponse& response, int status, const char* code, const std::string& message) {
  send(response, status, error_body(code, message));
}

void send_status(HTTPServerResponse& response, const Status& status) {
  HttpError error = http_error_for(status.code());
  send_error(response, error.http_status, error.code, status.message());
}

// Constant-time in the token's content, so timing does not reveal a prefix.
bool token_matches(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

bool parse_id(std::string_view text, std::int64_t* id) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return ec == std::errc() && end == text.data() + text.size() && *id > 0;
}

std::string product_json(const Product& product, const StockLevel* level) {
  JsonWriter json;
  json.field("id", product.id)
      .field("name", product.name)
      .field("stock", product.stock)
      .field("sale_price", product.sale_price)
      .field("start_time", format_rfc3339(product.start_ms))
      .field("end_time", format_rfc3339(product.end_ms));
  if (level != nullptr) {
    json.field("preloaded", level->preloaded);
    if (level->preloaded)
      json.field("remaining", level->remaining);
    else
      json.raw("remaining", "null");
  }
  return json.done();
}

class ApiHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ApiHandler(const ApiContext* context) : context_(*context) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    try {
      route(request, response);
    } catch (const std::exception& e) {
      if (!response.sent()) send_error(response, 500, "internal", e.what());
    }
  }

 private:
  void route(HTTPServerRequest& request, HTTPServerResponse& response) {
    std::string_view path = request.getURI();
    path = path.substr(0, path.find('?'));
    const std::string& method = request.getMethod();
    auto suffix = [&](std::string_view prefix, std::string_view* rest) {
      if (path.substr(0, prefix.size()) != prefix || path.size() == prefix.size()) return false;
      *rest = path.substr(prefix.size());
      return rest->find('/') == std::string_view::npos;
    };
    // The body is read before anything answers: an unread body left on a
    // keep-alive connection would be taken for the start of the next request.
    std::string body;
    if (!read_body(request, response, &body)) return;
    std::string_view rest;
    if (path == "/api/flash_sale/buy") {
      if (allow(method, HTTPRequest::HTTP_POST, response)) buy(request, body, response);
    } else if (suffix("/api/flash_sale/result/", &rest)) {
      if (allow(method, HTTPRequest::HTTP_GET, response)) result(std::string(rest), response);
    } else if (path == "/api/products") {
      if (allow(method, HTTPRequest::HTTP_POST, response)) create_product(request, body, response);
    } else if (suffix("/api/products/", &rest)) {
      if (allow(method, HTTPRequest::HTTP_GET, response)) get_product(rest, response);
    } else if (suffix("/api/flash_sale/preload/", &rest)) {
      if (allow(method, HTTPRequest::HTTP_POST, response)) preload(request, rest, response);
    } else if (suffix("/api/admin/reconcile/", &rest)) {
      if (allow(method, HTTPRequest::HTTP_GET, response)) reconcile(request, rest, response);
    } else if (path == "/healthz") {
      if (allow(method, HTTPRequest::HTTP_GET, response)) healthz(response);
    } else {
      send_error(response, 404, "route_not_found", "no route for " + std::string(path));
    }
  }

  static bool allow(const std::string& method, const std::string& expected, HTTPServerResponse& response) {
    if (method == expected) return true;
    response.set("Allow", expected);
    send_error(response, 405, "method_not_allowed", "use " + expected);
    return false;
  }

  bool authorized(HTTPServerRequest& request, HTTPServerResponse& response) {
    if (token_matches(request.get("X-Admin-Token", ""), context_.admin_token)) return true;
    send_error(response, 401, "unauthorized", "missing or wrong X-Admin-Token");
    return false;
  }

  // Reads the body into *body unless it is over the limit: then it answers
  // 413 and closes the connection, since the rest of the body is not read.
  bool read_body(HTTPServerRequest& request, HTTPServerResponse& response, std::string* body) {
    const std::int64_t limit = context_.max_body_bytes;
    // Each header lookup is a scan of all headers: the length is read once.
    const std::int64_t length = request.getContentLength64();
    const bool has_length = length != HTTPRequest::UNKNOWN_CONTENT_LENGTH;
    bool too_large = length > limit;
    // A request without Content-Length or chunking has no body (RFC 9112);
    // asking Poco for one would wait for the connection to close.
    bool has_body = has_length || request.getChunkedTransferEncoding();
    if (!too_large && has_body) {
      // Read what Content-Length announces (one byte more shows a lie); a
      // chunked body in pieces, up to one byte past the limit.
      std::istream& in = request.stream();
      std::int64_t want = has_length ? length + 1 : limit + 1;
      char chunk[4096];
      while (want > 0 && in.read(chunk, std::min<std::int64_t>(want, sizeof chunk)), in.gcount() > 0) {
        body->append(chunk, static_cast<std::size_t>(in.gcount()));
        want -= in.gcount();
        if (static_cast<std::int64_t>(body->size()) > limit) break;
      }
      too_large = static_cast<std::int64_t>(body->size()) > limit;
    }
    if (too_large) {
      discard_rest(request, has_body);
      response.setKeepAlive(false);
      send_error(response, 413, "payload_too_large", "body over " + std::to_string(limit) + " bytes");
      return false;
    }
    return true;
  }

  // Reads and drops what is left of a refused body, up to kDrainBytes: a
  // socket closed with unread data in it is reset, and the reset can reach
  // the client before it has read our 413 (it sees a bare I/O error). A body
  // larger still is cut off with the connection.
  static void discard_rest(HTTPServerRequest& request, bool has_body) {
    constexpr std::int64_t kDrainBytes = 1 << 20;
    if (!has_body || (request.hasContentLength() && request.getContentLength64() > kDrainBytes)) return;
    std::istream& in = request.stream();
    char chunk[4096];
    for (std::int64_t left = kDrainBytes; left > 0 && in.read(chunk, sizeof chunk), in.gcount() > 0;) {
      left -= in.gcount();
    }
  }

  void buy(HTTPServerRequest& request, const std::string& body, HTTPServerResponse& response) {
    BuyRequest buy;
    // Made once: the name is too long for a std::string without an allocation.
    static const std::string kIdempotencyHeader = "X-Idempotency-Key";
    static const std::string kNone;
    buy.idempotency_key = request.get(kIdempotencyHeader, kNone);
    JsonObject json;
    std::string error;
    if (JsonObject::parse(body, &json, &error)) {
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
    if (!buy.has_user) buy.client_ip = request.clientAddress().host().toString();  // the rate-limit subject

    BuyOutcome outcome = context_.buy->buy(buy);
    if (outcome.rate_limited) {
      send_error(response, 429, "rate_limited", "too many requests; retry later");
    } else if (!outcome.status.is_ok()) {
      send_status(response, outcome.status);
    } else {
      // A replay reports where the first request stands now, which may be final.
      RequestState state;
      state.status = RequestStatus::pending;
      if (outcome.replayed && !context_.results->lookup(outcome.request_id, &state).is_ok()) {
        state.status = RequestStatus::pending;
      }
      JsonWriter json_out;
      json_out.field("request_id", outcome.request_id).field("status", status_name(state.status));
      if (outcome.replayed) json_out.field("replayed", true);
      send(response, 202, json_out.done());
    }
  }

  void result(const std::string& request_id, HTTPServerResponse& response) {
    RequestState state;
    Status status = context_.results->lookup(request_id, &state);
    if (!status.is_ok()) return send_status(response, status);
    JsonWriter json;
    json.field("request_id", request_id).field("status", status_name(state.status));
    if (state.status == RequestStatus::failed) json.field("reason", state.reason);
    if (state.status == RequestStatus::success) json.field("order_id", state.order_id);
    send(response, 200, json.done());
  }

  void create_product(HTTPServerRequest& request, const std::string& body, HTTPServerResponse& response) {
    if (!authorized(request, response)) return;
    JsonObject json;
    std::string error;
    NewProduct product;
    if (JsonObject::parse(body, &json, &error)) {
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
    }
    if (!error.empty()) return send_error(response, 400, "invalid_request", error);
    Product created;
    Status status = context_.catalog->create(product, &created);
    if (!status.is_ok()) return send_status(response, status);
    send(response, 201, product_json(created, nullptr));
  }

  void get_product(std::string_view id_text, HTTPServerResponse& response) {
    ProductId id = 0;
    if (!parse_id(id_text, &id)) return send_error(response, 404, "not_found", "no product " + std::string(id_text));
    Product product;
    Status status = context_.catalog->find(id, &product);
    if (!status.is_ok()) return send_status(response, status);
    StockLevel level;
    status = context_.catalog->stock(id, &level);
    if (!status.is_ok()) return send_status(response, status);
    send(response, 200, product_json(product, &level));
  }

  void preload(HTTPServerRequest& request, std::string_view id_text, HTTPServerResponse& response) {
    if (!authorized(request, response)) return;
    ProductId id = 0;
    if (!parse_id(id_text, &id)) return send_error(response, 404, "not_found", "no product " + std::string(id_text));
    SaleStock loaded;
    Status status = context_.catalog->preload(id, &loaded);
    if (!status.is_ok()) return send_status(response, status);
    send(response, 200, JsonWriter().field("product_id", id).field("remaining", loaded.sellable).done());
  }

  // What an operator (or the load test) needs to check that stock adds up:
  // initial = remaining in the admit stage + sold + in flight.
  void reconcile(HTTPServerRequest& request, std::string_view id_text, HTTPServerResponse& response) {
    if (!authorized(request, response)) return;
    ProductId id = 0;
    if (!parse_id(id_text, &id)) return send_error(response, 404, "not_found", "no product " + std::string(id_text));
    Product product;
    StockLevel level;
    ProductSales sales;
    Status status = context_.catalog->find(id, &product);
    if (status.is_ok()) status = context_.catalog->stock(id, &level);
    if (status.is_ok()) status = context_.catalog->sales(id, &sales);
    if (!status.is_ok()) return send_status(response, status);
    JsonWriter json;
    json.field("product_id", id)
        .field("initial_stock", product.stock)
        .field("preloaded", level.preloaded)
        .field("orders", sales.orders)
        .field("quantity_sold", sales.quantity_sold)
        .field("failed_requests", sales.failed_requests);
    if (level.preloaded) {
      std::int64_t in_flight = product.stock - level.remaining - sales.quantity_sold;
      json.field("admit_remaining", level.remaining).field("in_flight", in_flight).field("reconciled", in_flight == 0);
    } else {
      json.raw("admit_remaining", "null").raw("in_flight", "null").field("reconciled", false);
    }
    send(response, 200, json.done());
  }

  void healthz(HTTPServerResponse& response) {
    const Counters& c = *context_.counters;
    auto n = [](const std::atomic<std::uint64_t>& v) { return static_cast<std::int64_t>(v.load()); };
    std::string counters = JsonWriter()
                               .field("buy_accepted", n(c.buy_accepted))
                               .field("buy_rejected", n(c.buy_rejected))
                               .field("rate_limited", n(c.rate_limited))
                               .field("ratelimit_fail_open", n(c.ratelimit_fail_open))
                               .field("relayed", n(c.relayed))
                               .field("relay_retries", n(c.relay_retries))
                               .field("persisted", n(c.persisted))
                               .field("finished_success", n(c.finished_success))
                               .field("finished_failed", n(c.finished_failed))
                               .field("worker_errors", n(c.worker_errors))
                               .done();
    // Cumulative, like Prometheus' `le` buckets: a client diffs two samples.
    LatencyHistogram::Counts counts = c.accepted_to_final.counts();
    JsonWriter le;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
      cumulative += counts[i];
      le.field(i < LatencyHistogram::kBoundsMs.size() ? std::to_string(LatencyHistogram::kBoundsMs[i]) : "+Inf",
               static_cast<std::int64_t>(cumulative));
    }
    std::string latency = JsonWriter()
                              .field("count", static_cast<std::int64_t>(cumulative))
                              .field("p50_le", LatencyHistogram::bound_of_share(counts, 0.5))
                              .field("p99_le", LatencyHistogram::bound_of_share(counts, 0.99))
                              .raw("le", le.done())
                              .done();
    send(response, 200,
         JsonWriter().field("status", "ok").raw("counters", counters).raw("accepted_to_final_ms", latency).done());
  }

  const ApiContext& context_;
};

class ApiHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit ApiHandlerFactory(const ApiContext* context) : context_(context) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new ApiHandler(context_);
  }

 private:
  const ApiContext* context_;
};

}  // namespace

Poco::Net::HTTPRequestHandlerFactory* make_api_handler_factory(const ApiContext* context) {
  return new ApiHandlerFactory(context);
}

}  // namespace flashsale
