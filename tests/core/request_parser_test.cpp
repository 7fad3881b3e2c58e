#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "http/message.h"
#include "http/request_parser.h"

using namespace std::string_literals;
using flashsale::HttpRequest;
using flashsale::ParserLimits;
using flashsale::RequestParser;

namespace {

std::string repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

// Small limits, so that each can be crossed by a row of a few hundred bytes.
ParserLimits small_limits() {
  ParserLimits limits;
  limits.max_request_line = 64;
  limits.max_header_bytes = 256;
  limits.max_headers = 4;
  limits.max_body_bytes = 32;
  limits.max_chunk_line = 24;
  limits.max_trailer_bytes = 48;
  return limits;
}

struct Outcome {
  RequestParser::Result result = RequestParser::Result::need_more;
  int status = 0;            // the error's status when result is error
  std::size_t consumed = 0;  // bytes taken up to and including the request's last byte
  HttpRequest request;
};

// Feeds `bytes` in pieces of `piece` bytes until the parser completes or
// fails, checking what parse() promises about `consumed` on the way.
Outcome feed(const std::string& bytes, std::size_t piece, const ParserLimits& limits = small_limits()) {
  RequestParser parser(limits);
  Outcome outcome;
  for (std::size_t at = 0; at < bytes.size();) {
    std::size_t size = std::min(piece, bytes.size() - at);
    std::size_t consumed = 0;
    outcome.result = parser.parse(bytes.data() + at, size, &consumed, &outcome.request);
    REQUIRE(consumed <= size);
    if (outcome.result == RequestParser::Result::need_more) REQUIRE(consumed == size);
    at += consumed;
    outcome.consumed = at;
    if (outcome.result == RequestParser::Result::complete) {
      REQUIRE(consumed > 0);
      REQUIRE(parser.idle());
      break;
    }
    if (outcome.result == RequestParser::Result::error) {
      outcome.status = parser.error().status;
      REQUIRE_FALSE(parser.error().message.empty());
      break;
    }
  }
  return outcome;
}

struct Row {
  const char* name;
  std::string bytes;
  int status;                    // 0: complete
  bool open;                     // complete and the connection stays open
  const char* target = nullptr;  // when set, the complete request's target
  const char* body = nullptr;    // when set, the complete request's decoded body
};

const char* const kGet = "GET / HTTP/1.1\r\nHost: a\r\n";

std::vector<Row> rows() {
  std::string get = kGet;
  std::string post = "POST /buy HTTP/1.1\r\nHost: a\r\n";
  std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";
  return {
      {"plain GET", get + "\r\n", 0, true, "/", ""},
      {"POST with Content-Length", post + "Content-Length: 5\r\n\r\nhello", 0, true, "/buy", "hello"},
      {"chunked with extensions and trailers",
       chunked + "5;name=val\r\nhello\r\n6 ; x=\"q r\"\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", 0, true, "/buy",
       "hello world"},
      {"chunked, upper-case hex and leading zeros", chunked + "00A\r\n0123456789\r\n000\r\n\r\n", 0, true, nullptr,
       "0123456789"},
      {"Content-Length and Transfer-Encoding", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       false},
      {"Transfer-Encoding: gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, false},
      {"Transfer-Encoding: chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n", 501, false},
      {"Transfer-Encoding split over two fields",
       post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501, false},
      {"Transfer-Encoding: identity", post + "Transfer-Encoding: identity\r\n\r\n", 501, false},
      {"Transfer-Encoding empty", post + "Transfer-Encoding:\r\n\r\n", 501, false},
      {"Transfer-Encoding: CHUNKED (case-insensitive)", post + "Transfer-Encoding:  CHUNKED \r\n\r\n0\r\n\r\n", 0, true,
       nullptr, ""},
      {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, false},
      {"0xFF in a field name",
       get + "X-\xFF"
             "a: 1\r\n\r\n",
       400, false},
      {"0xFF in a field value (obs-text)", get + "X-A: caf\xC3\xA9 \xFF\r\n\r\n", 0, true},
      {"two different Content-Lengths", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, false},
      {"a list of different Content-Lengths", post + "Content-Length: 5, 6\r\n\r\nhello!", 400, false},
      {"identical repeated Content-Lengths", post + "Content-Length: 5\r\nContent-Length: 5 , 5\r\n\r\nhello", 0, true,
       nullptr, "hello"},
      {"Content-Length with an empty list element", post + "Content-Length: 5,,5\r\n\r\nhello", 400, false},
      {"Content-Length not digits", post + "Content-Length: +5\r\n\r\nhello", 400, false},
      {"Content-Length empty", post + "Content-Length:\r\n\r\n", 400, false},
      {"Content-Length overflowing 64 bits", post + "Content-Length: 18446744073709551621\r\n\r\n", 400, false},
      {"chunked with an invalid Content-Length", chunked.substr(0, chunked.size() - 2) + "Content-Length: x\r\n\r\n",
       400, false},
      {"version word XYZ", "GET / XYZ\r\nHost: a\r\n\r\n", 400, false},
      {"version in lower case", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, false},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, false},
      {"two spaces before the version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"two spaces before the target", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"tab as a separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, false},
      {"bare LF ending a field line", get + "X-A: 1\n\r\n", 400, false},
      {"bare LF ending the head", get + "\n", 400, false},
      {"bare CR inside a field line", get + "X-A: 1\rX-B: 2\r\n\r\n", 400, false},
      {"obs-fold", get + "X-A: 1\r\n 2\r\n\r\n", 400, false},
      {"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400, false},
      {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0, false},
      {"duplicate Host", get + "Host: a\r\n\r\n", 400, false},
      {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, false},
      {"Host with a port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0, true},
      {"whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, false},
      {"a field line without a colon", get + "X-A\r\n\r\n", 400, false},
      {"an empty field name", get + ": a\r\n\r\n", 400, false},
      {"NUL in a value", get + "X-A: a\0b\r\n\r\n"s, 400, false},
      {"DEL in a value", get + "X-A: a\x7F\r\n\r\n", 400, false},
      {"request line over the limit before its CRLF", "GET /" + std::string(70, 'a'), 414, false},
      {"request line over the limit", "GET /" + std::string(70, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, false},
      // Empty lines count toward the head: this line passes the head's limit
      // before its own, and fails at that byte however it arrives.
      {"empty lines then a line past the head limit first", repeat("\r\n", 104) + std::string(80, 'G'), 431, false},
      {"too many fields", get + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, false},
      {"as many fields as allowed", get + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, true},
      {"head too big", get + "X-A: " + std::string(240, 'v') + "\r\n\r\n", 431, false},
      {"head too big before its end arrives", get + "X-A: " + std::string(240, 'v'), 431, false},
      {"Content-Length over the body limit", post + "Content-Length: 33\r\n\r\n", 413, false},
      {"Content-Length at the body limit", post + "Content-Length: 32\r\n\r\n" + std::string(32, 'b'), 0, true},
      {"chunked body over the limit", chunked + "14\r\n" + std::string(20, 'b') + "\r\n14\r\n", 413, false},
      {"chunk size overflow", chunked + "10000000000000000\r\n", 400, false},
      {"chunk size missing", chunked + ";x\r\n", 400, false},
      {"chunk size followed by whitespace only", chunked + "5 \r\nhello\r\n0\r\n\r\n", 400, false},
      {"chunk extension with a control character", chunked + "5;a\x01\r\nhello\r\n0\r\n\r\n", 400, false},
      {"chunk-size line over the limit", chunked + "5;" + std::string(30, 'e') + "\r\n", 400, false},
      {"chunk-size line ending in a bare LF", chunked + "5\nhello\r\n0\r\n\r\n", 400, false},
      {"missing CRLF after chunk data", chunked + "5\r\nhelloX\r\n0\r\n\r\n", 400, false},
      {"trailer with obs-fold", chunked + "0\r\nX-T: 1\r\n 2\r\n\r\n", 400, false},
      {"trailer section over the limit", chunked + "0\r\nX-T: " + std::string(50, 't') + "\r\n\r\n", 431, false},
      {"Expect: 100-continue", post + "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi", 0, true, nullptr, "hi"},
      {"Expect: something else", post + "Expect: 200-ok\r\nContent-Length: 2\r\n\r\nhi", 417, false},
      {"Connection: close", get + "Connection: keep-alive, Close\r\n\r\n", 0, false},
      {"HTTP/1.0 with keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, true},
      {"HTTP/1.0 without keep-alive", "GET / HTTP/1.0\r\nHost: a\r\n\r\n", 0, false},
      {"empty lines before the request line", "\r\n\r\n" + get + "\r\n", 0, true, "/"},
      {"absolute-form target", "GET http://shop.example:8080/api/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n", 0, true,
       "/api/x?y=1"},
      {"absolute-form target without a path", "GET HTTPS://shop.example HTTP/1.1\r\nHost: a\r\n\r\n", 0, true, "/"},
      {"absolute-form target with only a query", "GET http://shop.example?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", 0, true,
       "/?q=1"},
      {"absolute-form target with userinfo", "GET http://u@shop.example/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"absolute-form target without a host", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"authority-form target", "CONNECT shop.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"other scheme", "GET ftp://shop.example/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"target with a byte above 0x7E", "GET /caf\xC3\xA9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
      {"method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, false},
  };
}

}  // namespace

TEST_CASE("the request parser's table: each row whole, byte by byte and in pieces", "[http][parser]") {
  for (const Row& row : rows()) {
    INFO(row.name);
    Outcome whole = feed(row.bytes, row.bytes.size());
    if (row.status == 0) {
      REQUIRE(whole.result == RequestParser::Result::complete);
      CHECK(whole.consumed == row.bytes.size());
      CHECK(whole.request.keep_alive == row.open);
      if (row.target != nullptr) CHECK(whole.request.target_text() == row.target);
      if (row.body != nullptr) CHECK(whole.request.body == row.body);
    } else {
      REQUIRE(whole.result == RequestParser::Result::error);
      CHECK(whole.status == row.status);
      CHECK_FALSE(row.open);
    }
    for (std::size_t piece : {1, 2, 7}) {
      INFO("pieces of " << piece << " bytes");
      Outcome cut = feed(row.bytes, piece);
      CHECK(cut.result == whole.result);
      CHECK(cut.status == whole.status);
      if (whole.result == RequestParser::Result::complete) {
        CHECK(cut.consumed == whole.consumed);
        CHECK(cut.request.head == whole.request.head);
        CHECK(cut.request.method_name() == whole.request.method_name());
        CHECK(cut.request.target_text() == whole.request.target_text());
        CHECK(cut.request.body == whole.request.body);
        CHECK(cut.request.fields.size() == whole.request.fields.size());
        CHECK(cut.request.keep_alive == whole.request.keep_alive);
      }
    }
  }
}

TEST_CASE("a parsed request exposes its parts", "[http][parser]") {
  Outcome outcome =
      feed("POST /api/buy?x=1 HTTP/1.1\r\nHost: shop\r\nX-Key:  k 1 \t\r\nContent-Length: 3\r\n\r\nabc", 1000);
  REQUIRE(outcome.result == RequestParser::Result::complete);
  const HttpRequest& request = outcome.request;
  CHECK(request.method_name() == "POST");
  CHECK(request.target_text() == "/api/buy?x=1");
  CHECK(request.path() == "/api/buy");
  CHECK(request.minor_version == 1);
  CHECK(request.header("x-key") == "k 1");
  CHECK(request.header("HOST") == "shop");
  CHECK(request.fields.size() == 3);
  CHECK(request.body == "abc");
  CHECK_FALSE(request.expect_continue);
  CHECK(request.client_ip.empty());
}

TEST_CASE("pipelined requests come out in order", "[http][parser]") {
  std::string first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string second = "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz";
  std::string third = "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
  for (int count : {2, 3}) {
    std::string buffer = first + second + (count == 3 ? third : "");
    std::vector<std::size_t> sizes = {first.size(), second.size(), third.size()};
    RequestParser parser(small_limits());
    std::size_t at = 0;
    for (int i = 0; i < count; ++i) {
      HttpRequest request;
      std::size_t consumed = 0;
      REQUIRE(parser.parse(buffer.data() + at, buffer.size() - at, &consumed, &request) ==
              RequestParser::Result::complete);
      CHECK(consumed == sizes[static_cast<std::size_t>(i)]);
      CHECK(request.target_text() == "/" + std::to_string(i + 1));
      at += consumed;
    }
    CHECK(at == buffer.size());
    CHECK(parser.idle());
  }
}

TEST_CASE("idle and in_body follow the request", "[http][parser]") {
  RequestParser parser(small_limits());
  HttpRequest request;
  std::size_t consumed = 0;
  CHECK(parser.idle());
  CHECK_FALSE(parser.in_body());

  // Empty lines before a request are not part of it.
  CHECK(parser.parse("\r\n", 2, &consumed, &request) == RequestParser::Result::need_more);
  CHECK(parser.idle());

  CHECK(parser.parse("P", 1, &consumed, &request) == RequestParser::Result::need_more);
  CHECK_FALSE(parser.idle());
  CHECK_FALSE(parser.in_body());

  std::string head = "OST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n";
  CHECK(parser.parse(head.data(), head.size(), &consumed, &request) == RequestParser::Result::need_more);
  CHECK(consumed == head.size());
  CHECK_FALSE(parser.idle());
  CHECK(parser.in_body());
  CHECK_FALSE(parser.awaiting_continue());

  CHECK(parser.parse("hi", 2, &consumed, &request) == RequestParser::Result::complete);
  CHECK(parser.idle());
  CHECK_FALSE(parser.in_body());
  CHECK(request.body == "hi");
}

TEST_CASE("Expect: 100-continue is awaited until the first body byte", "[http][parser]") {
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n";
  HttpRequest request;
  std::size_t consumed = 0;

  SECTION("with a Content-Length") {
    RequestParser parser(small_limits());
    std::string bytes = head + "Content-Length: 2\r\n\r\n";
    CHECK(parser.parse(bytes.data(), bytes.size(), &consumed, &request) == RequestParser::Result::need_more);
    CHECK(parser.awaiting_continue());
    CHECK(parser.parse("h", 1, &consumed, &request) == RequestParser::Result::need_more);
    CHECK_FALSE(parser.awaiting_continue());
    CHECK(parser.parse("i", 1, &consumed, &request) == RequestParser::Result::complete);
    CHECK(request.expect_continue);
    CHECK_FALSE(parser.awaiting_continue());
  }
  SECTION("chunked") {
    RequestParser parser(small_limits());
    std::string bytes = head + "Transfer-Encoding: chunked\r\n\r\n";
    CHECK(parser.parse(bytes.data(), bytes.size(), &consumed, &request) == RequestParser::Result::need_more);
    CHECK(parser.awaiting_continue());
    CHECK(parser.parse("0", 1, &consumed, &request) == RequestParser::Result::need_more);
    CHECK_FALSE(parser.awaiting_continue());
  }
  SECTION("without a body there is nothing to await") {
    RequestParser parser(small_limits());
    std::string bytes = head + "Content-Length: 0\r\n\r\n";
    CHECK(parser.parse(bytes.data(), bytes.size(), &consumed, &request) == RequestParser::Result::complete);
    CHECK(request.expect_continue);
    CHECK_FALSE(parser.awaiting_continue());
  }
  SECTION("HTTP/1.0 ignores it") {
    RequestParser parser(small_limits());
    std::string bytes = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    CHECK(parser.parse(bytes.data(), bytes.size(), &consumed, &request) == RequestParser::Result::need_more);
    CHECK_FALSE(parser.awaiting_continue());
  }
}

TEST_CASE("a failed parser stays failed and says why", "[http][parser]") {
  RequestParser parser(small_limits());
  HttpRequest request;
  std::size_t consumed = 0;
  std::string bad = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(parser.parse(bad.data(), bad.size(), &consumed, &request) == RequestParser::Result::error);
  CHECK(consumed == bad.size());
  CHECK(parser.error().status == 400);
  CHECK(std::string(parser.error().code) == "bad_request");
  CHECK_THAT(parser.error().message, Catch::Contains("smuggling"));
  CHECK_FALSE(parser.idle());

  std::string good = std::string(kGet) + "\r\n";
  CHECK(parser.parse(good.data(), good.size(), &consumed, &request) == RequestParser::Result::error);
  CHECK(consumed == good.size());
}

TEST_CASE("each refusal carries its JSON error code", "[http][parser]") {
  std::string post = "POST / HTTP/1.1\r\nHost: a\r\n";
  struct Case {
    std::string bytes;
    const char* code;
  };
  for (const Case& c : std::vector<Case>{
           {"GET / HTTP/1.1\r\n\r\n", "bad_request"},
           {post + "Content-Length: 99\r\n\r\n", "payload_too_large"},
           {"GET /" + std::string(80, 'a'), "uri_too_long"},
           {post + "X: " + std::string(300, 'x'), "header_fields_too_large"},
           {post + "Transfer-Encoding: gzip\r\n\r\n", "not_implemented"},
           {"GET / HTTP/3.0\r\n\r\n", "http_version_not_supported"},
           {post + "Expect: nothing\r\n\r\n", "expectation_failed"},
       }) {
    RequestParser parser(small_limits());
    HttpRequest request;
    std::size_t consumed = 0;
    REQUIRE(parser.parse(c.bytes.data(), c.bytes.size(), &consumed, &request) == RequestParser::Result::error);
    CHECK(std::string(parser.error().code) == c.code);
  }
}

TEST_CASE("the default limits accept an ordinary request", "[http][parser]") {
  std::string bytes =
      "POST /api/buy HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
      "Idempotency-Key: 5b6d\r\nContent-Length: 13\r\n\r\n{\"user_id\":1}";
  Outcome outcome = feed(bytes, bytes.size(), ParserLimits{});
  REQUIRE(outcome.result == RequestParser::Result::complete);
  CHECK(outcome.request.body == "{\"user_id\":1}");
}

TEST_CASE("reason phrases are RFC 9110's", "[http]") {
  CHECK(std::string(flashsale::reason_phrase(404)) == "Not Found");
  CHECK(std::string(flashsale::reason_phrase(413)) == "Content Too Large");
  CHECK(std::string(flashsale::reason_phrase(431)) == "Request Header Fields Too Large");
  CHECK(std::string(flashsale::reason_phrase(299)) == "Unknown");
}

TEST_CASE("append_response writes the exact bytes", "[http]") {
  flashsale::HttpResponse response = flashsale::HttpResponse::json(201, "{\"a\":1}");
  response.headers.emplace_back("Location", "/x");
  std::string out;
  flashsale::append_response(response, false, flashsale::ConnectionHeader::close, "Sun, 06 Nov 1994 08:49:37 GMT",
                             &out);
  CHECK(out ==
        "HTTP/1.1 201 Created\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\n"
        "Content-Length: 7\r\nLocation: /x\r\nConnection: close\r\n\r\n{\"a\":1}");

  out.clear();
  flashsale::append_response(response, true, flashsale::ConnectionHeader::none, "D", &out);
  CHECK(out ==
        "HTTP/1.1 201 Created\r\nDate: D\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
        "Location: /x\r\n\r\n");

  out.clear();
  flashsale::append_response(flashsale::HttpResponse::error(404, "not_found", "no such product"), false,
                             flashsale::ConnectionHeader::keep_alive, "D", &out);
  std::string body = R"({"error":{"code":"not_found","message":"no such product"}})";
  CHECK(out == "HTTP/1.1 404 Not Found\r\nDate: D\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n" + body);
}

TEST_CASE("HttpRequest::make builds a request whose headers match case-insensitively", "[http]") {
  HttpRequest request = HttpRequest::make("POST", "/api/buy?a=b", {{"Idempotency-Key", "k1"}, {"X-A", "1"}}, "{}");
  CHECK(request.method_name() == "POST");
  CHECK(request.target_text() == "/api/buy?a=b");
  CHECK(request.path() == "/api/buy");
  CHECK(request.header("idempotency-key") == "k1");
  CHECK(request.header("IDEMPOTENCY-KEY") == "k1");
  CHECK(request.has_header("x-a"));
  CHECK_FALSE(request.has_header("x-b"));
  CHECK(request.header("x-b").empty());
  CHECK(request.body == "{}");

  // What make() builds, the parser reads back the same.
  Outcome outcome = feed(request.head, request.head.size(), ParserLimits{});
  REQUIRE(outcome.result == RequestParser::Result::error);  // no Host: make() adds only what it is given
  HttpRequest with_host = HttpRequest::make("GET", "/x", {{"Host", "h"}});
  outcome = feed(with_host.head, with_host.head.size(), ParserLimits{});
  REQUIRE(outcome.result == RequestParser::Result::complete);
  CHECK(outcome.request.head == with_host.head);
  CHECK(outcome.request.header("host") == "h");
}
