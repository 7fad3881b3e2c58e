// The HTTP API: routes, request parsing, and the one place where a Status
// becomes an HTTP status and an error code.
#pragma once

#include <cstdint>
#include <string>

namespace Poco::Net {
class HTTPRequestHandlerFactory;
}

namespace flashsale {

class BuyService;
class Catalog;
class ResultService;
struct Counters;

struct ApiContext {
  Catalog* catalog = nullptr;
  BuyService* buy = nullptr;
  ResultService* results = nullptr;
  Counters* counters = nullptr;
  std::string admin_token;
  std::int64_t max_body_bytes = 16384;
};

// The factory Poco's HTTPServer asks for a handler per request. `context`
// must outlive the server.
Poco::Net::HTTPRequestHandlerFactory* make_api_handler_factory(const ApiContext* context);

}  // namespace flashsale
