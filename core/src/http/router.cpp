// A linear scan over a handful of routes: cheaper than any index at this
// size, and a hit allocates nothing. Only a refusal builds a response.
#include "http/router.h"

#include <exception>

namespace flashsale {

namespace {

// Whether `path` is the route's path (exact route) or its prefix, one
// non-empty segment without '/' and its suffix (a "{}" route); *param is
// that segment.
template <typename Route>
bool path_matches(std::string_view path, const Route& route, std::string_view* param) {
  if (!route.has_param) return path == route.prefix;
  std::string_view prefix = route.prefix, suffix = route.suffix;
  if (path.size() <= prefix.size() + suffix.size() || path.substr(0, prefix.size()) != prefix ||
      path.substr(path.size() - suffix.size()) != suffix) {
    return false;
  }
  std::string_view segment = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (segment.find('/') != std::string_view::npos) return false;
  *param = segment;
  return true;
}

void add_allowed(std::string* allow, std::string_view method) {
  // A path has few methods: a substring check is enough to keep each once.
  for (std::size_t at = 0; (at = allow->find(method, at)) != std::string::npos; at += method.size()) {
    bool starts = at == 0 || (*allow)[at - 1] == ' ';
    bool ends = at + method.size() == allow->size() || (*allow)[at + method.size()] == ',';
    if (starts && ends) return;
  }
  if (!allow->empty()) allow->append(", ");
  allow->append(method);
}

// An exception a handler lets out (a bug, or a failure a stage did not turn
// into a Status) answers 500 internal and leaves the connection and the
// thread that ran it usable.
Router::Handler answering_500_on_throw(Router::Handler handler) {
  return [handler = std::move(handler)](const HttpRequest& request, std::string_view param) -> HttpResponse {
    try {
      return handler(request, param);
    } catch (const std::exception& e) {
      return HttpResponse::error(500, "internal", e.what());
    } catch (...) {
      return HttpResponse::error(500, "internal", "unknown exception");
    }
  };
}

}  // namespace

void Router::add(std::string_view method, std::string pattern, bool blocking, Handler handler) {
  Route route;
  route.method = std::string(method);
  route.pattern = pattern;
  std::size_t slot = pattern.find("{}");
  route.has_param = slot != std::string::npos;
  if (route.has_param) {
    route.suffix = pattern.substr(slot + 2);
    pattern.resize(slot);
  }
  route.prefix = std::move(pattern);
  route.blocking = blocking;
  route.handler = answering_500_on_throw(std::move(handler));
  routes_.push_back(std::move(route));
}

std::vector<Router::Entry> Router::table() const {
  std::vector<Entry> entries;
  for (const Route& route : routes_) entries.push_back({route.method, route.pattern});
  return entries;
}

Router::Match Router::match(const HttpRequest& request) const {
  const std::string_view path = request.path();
  const std::string_view method = request.method_name();
  const bool head = method == "HEAD";
  Match match;
  const Route* head_as_get = nullptr;  // a GET route answering HEAD, unless a HEAD route comes later
  std::string_view head_param;
  bool known_path = false;
  for (const Route& route : routes_) {
    std::string_view param;
    if (!path_matches(path, route, &param)) continue;
    known_path = true;
    if (route.method == method) {
      match.handler = &route.handler;
      match.param = param;
      match.pattern = route.pattern;
      match.blocking = route.blocking;
      return match;
    }
    if (head && head_as_get == nullptr && route.method == "GET") {
      head_as_get = &route;
      head_param = param;
    }
  }
  if (head_as_get != nullptr) {
    match.handler = &head_as_get->handler;
    match.param = head_param;
    match.pattern = head_as_get->pattern;
    match.blocking = head_as_get->blocking;
    return match;
  }
  if (!known_path) {
    match.refusal = HttpResponse::error(404, "route_not_found", "no route for " + std::string(path));
    return match;
  }
  std::string allow;
  for (const Route& route : routes_) {
    std::string_view ignored;
    if (!path_matches(path, route, &ignored)) continue;
    add_allowed(&allow, route.method);
    if (route.method == "GET") add_allowed(&allow, "HEAD");
  }
  match.refusal = HttpResponse::error(405, "method_not_allowed", "use " + allow);
  match.refusal.headers.emplace_back("Allow", std::move(allow));
  return match;
}

}  // namespace flashsale
