// An HTTP request as the parser hands it over and a handler sees it, and the
// response a handler returns. Neither knows about sockets or threads, so
// handlers are tested with plain values and the connection layer is the only
// code that touches the network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashsale {

// A run of bytes inside HttpRequest::head. Offsets, not views: a request is
// moved between threads, and a moved std::string may move its bytes.
struct HeadSpan {
  std::uint32_t at = 0;
  std::uint32_t size = 0;
};

struct HttpRequest {
  struct Field {
    HeadSpan name;
    HeadSpan value;  // without leading and trailing whitespace
  };

  std::string head;  // the request line and header lines as received
  HeadSpan method;
  HeadSpan target;               // origin-form ("/path?query"); an absolute-form target is reduced to it
  int minor_version = 1;         // HTTP/1.<minor_version>: 0 or 1
  std::vector<Field> fields;     // in the order received; repeated names kept
  std::string body;              // decoded (chunks joined)
  bool keep_alive = true;        // what the client asked for, after the version's default
  bool expect_continue = false;  // the client sent Expect: 100-continue
  std::string client_ip;         // set by the connection layer (peer, or the forwarded client behind a trusted proxy)

  std::string_view view(HeadSpan span) const { return std::string_view(head).substr(span.at, span.size); }
  std::string_view method_name() const { return view(method); }
  std::string_view target_text() const { return view(target); }
  std::string_view path() const;  // target without "?query"
  // The first query parameter `name` of the target, percent-decoded ('+'
  // stays '+'); nullopt when absent.
  std::optional<std::string> query(std::string_view name) const;
  // The value of the first field with this name (ASCII case-insensitive), or
  // "" when there is none.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;

  // Builds a request from parts, as tests and benchmarks need one.
  static HttpRequest make(std::string_view method, std::string_view target,
                          const std::vector<std::pair<std::string, std::string>>& headers = {}, std::string body = {});
};

struct HttpResponse {
  int status = 200;
  std::string body;
  const char* content_type = "application/json";             // static storage
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type/-Length, Date, Connection
  bool close = false;                                        // close the connection after this response

  // {"error": {"code": code, "message": message}} with `status`.
  static HttpResponse error(int status, const char* code, std::string_view message);
  static HttpResponse json(int status, std::string body);
};

// The standard reason phrase of a status code (RFC 9110), "Unknown" otherwise.
const char* reason_phrase(int status) noexcept;

// ASCII case-insensitive equality, as header names compare.
bool equals_ignore_case(std::string_view a, std::string_view b) noexcept;

// What the response says about the connection: HTTP/1.1 keeps it open
// unless told otherwise, an HTTP/1.0 client only when told to.
enum class ConnectionHeader { none, close, keep_alive };

// Appends the status line, headers and (unless head_only) body of `response`.
// `date` is an IMF-fixdate.
void append_response(const HttpResponse& response, bool head_only, ConnectionHeader connection, std::string_view date,
                     std::string* out);

}  // namespace flashsale
