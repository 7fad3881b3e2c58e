// How the HTTP front frames requests, seen over a real socket with exact
// bytes: what each refusal answers, and whether the connection survives it.
// Limits and timeouts are in http_limits_test.cpp, crowds and the drain in
// http_crowd_test.cpp.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "integration/sale_fixture.h"
#include "support/raw_socket.h"

using namespace flashsale::test;

namespace {

// After a first answer: "open" when a GET /healthz is answered 200, "closed"
// on EOF or a reset, else what came instead.
std::string connection_state(RawSocket& socket) {
  socket.send_all(kHealthzRequest);  // fails on a closed connection: the read says so
  std::optional<RawResponse> next = socket.read_response(5000);
  if (next) return next->status == 200 ? "open" : "answered " + next->status_line;
  return socket.wait_closed(200) ? "closed" : "silent";
}

struct FramingRow {
  const char* what;
  std::string request;
  std::string status_line;
  std::string error_code;  // "" for an answer that is not an error
  bool stays_open;
  std::string header = {};  // a field the answer must carry, with `value`
  std::string value = {};
};

}  // namespace

TEST_CASE("the HTTP front frames requests strictly over a real socket", "[e2e][http][framing]") {
  EmbeddedServer server;
  const std::string buy = "POST /api/flash_sale/buy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  const std::vector<FramingRow> rows = {
      {"Content-Length and Transfer-Encoding together",
       buy + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400 Bad Request",
       "bad_request", false},
      {"a coding besides chunked", buy + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 501 Not Implemented", "not_implemented", false},
      {"0xFF in a header name", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-B\xFFte: 1\r\n\r\n", "HTTP/1.1 400 Bad Request",
       "bad_request", false},
      {"0xFF in a header value is obs-text", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: caf\xFF\r\n\r\n",
       "HTTP/1.1 200 OK", "", true},
      {"two different Content-Length", buy + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}}",
       "HTTP/1.1 400 Bad Request", "bad_request", false},
      {"the same Content-Length twice",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", "HTTP/1.1 200 OK", "",
       true},
      {"the same Content-Length twice in one field",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab", "HTTP/1.1 200 OK", "", true},
      {"chunked with an invalid Content-Length",
       buy + "Transfer-Encoding: chunked\r\nContent-Length: abc\r\n\r\n0\r\n\r\n", "HTTP/1.1 400 Bad Request",
       "bad_request", false},
      {"a version that is not HTTP", "GET /healthz XYZ\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request", "bad_request",
       false},
      {"HTTP/2.0 on an HTTP/1 connection", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
       "HTTP/1.1 505 HTTP Version Not Supported", "http_version_not_supported", false},
      {"no route", "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found", "route_not_found", true},
      {"a method the path does not take", "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 405 Method Not Allowed", "method_not_allowed", true, "Allow", "GET, HEAD"},
      {"HTTP/1.0 closes by default", "GET /healthz HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK", "", false},
      {"HTTP/1.0 asking for keep-alive", "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK",
       "", true, "Connection", "keep-alive"},
      {"HTTP/1.1 asking to close", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK",
       "", false},
  };
  for (const FramingRow& row : rows) {
    INFO(row.what);
    RawSocket socket(server.port());
    REQUIRE(socket.send_all(row.request));
    std::optional<RawResponse> reply = socket.read_response(5000);
    REQUIRE(reply);
    INFO(reply->status_line << "\n" << reply->body);
    CHECK(reply->status_line == row.status_line);
    CHECK(reply->error_code() == row.error_code);
    CHECK(reply->header("Content-Type") == "application/json");
    // Whoever ends the connection says so; only an HTTP/1.0 keep-alive is spelled out.
    CHECK((reply->header("Connection") == "close") == !row.stays_open);
    if (!row.header.empty()) CHECK(reply->header(row.header) == row.value);
    CHECK(connection_state(socket) == (row.stays_open ? "open" : "closed"));
  }
}

TEST_CASE("Expect 100-continue gets 100 Continue before the body is sent", "[e2e][http][framing]") {
  EmbeddedServer server;
  RawSocket socket(server.port());
  const std::string body = buy_body(999999, 1);
  REQUIRE(
      socket.send_all("POST /api/flash_sale/buy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Expect: 100-continue\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n"));
  std::optional<RawResponse> interim = socket.read_response(5000);
  REQUIRE(interim);
  CHECK(interim->status_line == "HTTP/1.1 100 Continue");
  CHECK(socket.unread().empty());  // nothing else before the body
  REQUIRE(socket.send_all(body));
  std::optional<RawResponse> reply = socket.read_response(5000);
  REQUIRE(reply);
  INFO(reply->body);
  CHECK(reply->status_line == "HTTP/1.1 404 Not Found");  // the product does not exist: the body was read
  CHECK(reply->error_code() == "not_found");
  CHECK(connection_state(socket) == "open");
}

TEST_CASE("HEAD answers the headers of GET without a body", "[e2e][http][framing]") {
  EmbeddedServer server;
  RawSocket socket(server.port());
  REQUIRE(socket.send_all("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<RawResponse> reply = socket.read_response(5000, /*head_request=*/true);
  REQUIRE(reply);
  CHECK(reply->status_line == "HTTP/1.1 200 OK");
  CHECK(std::atoi(reply->header("Content-Length").c_str()) > 0);
  // A body after the head would be read as the start of the next answer.
  CHECK(connection_state(socket) == "open");
}

TEST_CASE("three pipelined requests in one write are answered in order", "[e2e][http][framing]") {
  EmbeddedServer server;
  RawSocket socket(server.port());
  REQUIRE(socket.send_all(std::string(kHealthzRequest) + "GET /nowhere/2 HTTP/1.1\r\nHost: x\r\n\r\n" +
                          "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<RawResponse> first = socket.read_response(5000);
  std::optional<RawResponse> second = socket.read_response(5000);
  std::optional<RawResponse> third = socket.read_response(5000);
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  CHECK(first->status == 200);
  CHECK(second->status == 404);
  CHECK(second->body.find("/nowhere/2\"") != std::string::npos);
  CHECK(third->status == 405);
  CHECK(connection_state(socket) == "open");
}
