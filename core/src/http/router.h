// The route table: method and path to a handler. Matching is done on the
// connection's I/O thread before anything else, so it is cheap and never
// blocks; whether the handler itself may block (it calls a backend) is said
// per route, and the connection layer runs such handlers on a worker pool.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace flashsale {

class Router {
 public:
  // `param` is the path segment matched by a pattern's "{}"; empty otherwise.
  using Handler = std::function<HttpResponse(const HttpRequest& request, std::string_view param)>;

  // `pattern` is an exact path ("/healthz"), or a path with one "{}" standing
  // for a whole segment ("/api/products/{}", "/api/orders/{}/pay") that
  // matches one non-empty segment without '/'.
  // `blocking`: the handler may wait on a backend. HEAD is served by a GET
  // route (the connection layer drops the body). A handler that throws
  // answers 500 internal.
  void add(std::string_view method, std::string pattern, bool blocking, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: `refusal` is the answer (404 route_not_found, 405 with Allow)
    std::string_view param;            // a view into the request's head
    std::string_view pattern;          // the route's pattern, as added
    bool blocking = false;
    HttpResponse refusal;
  };
  Match match(const HttpRequest& request) const;

  struct Entry {
    std::string method, pattern;
  };
  std::vector<Entry> table() const;  // every route, in the order added

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::string prefix;  // the pattern before "{}", or all of it
    std::string suffix;  // the pattern after "{}"
    bool has_param = false;
    bool blocking = false;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace flashsale
