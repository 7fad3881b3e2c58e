// Feeds arbitrary bytes to the HTTP request parser, whole and cut into
// pieces, and stops at the first broken promise of request_parser.h: every
// byte of a need_more call consumed, complete requests whose spans lie in
// their head, the same requests (or the same refusal) however the input is cut.
// The first byte chooses the piece size; the rest is a stream of pipelined
// requests.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/request_parser.h"

using flashsale::HttpRequest;
using flashsale::ParserLimits;
using flashsale::RequestParser;

// Checked in every build: the harness is built at -O1, with or without NDEBUG.
#define FUZZ_CHECK(condition)                                                         \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "broken invariant: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

// Small, so the fuzzer reaches every limit with short inputs.
ParserLimits fuzz_limits() {
  ParserLimits limits;
  limits.max_request_line = 64;
  limits.max_header_bytes = 256;
  limits.max_headers = 6;
  limits.max_body_bytes = 64;
  limits.max_chunk_line = 24;
  limits.max_trailer_bytes = 64;
  return limits;
}

// What a request stream parses to: the requests in order, then how it ended.
struct Parsed {
  struct Request {
    std::string method;
    std::string target;
    std::string body;
    std::size_t fields = 0;
    bool keep_alive = false;
    bool expect_continue = false;
    std::size_t end = 0;  // offset in the stream just past the request
  };
  std::vector<Request> requests;
  RequestParser::Result last = RequestParser::Result::need_more;
  int status = 0;
};

bool within(const HttpRequest& request, flashsale::HeadSpan span) {
  return span.at <= request.head.size() && span.size <= request.head.size() - span.at;
}

void check_request(const HttpRequest& request, const ParserLimits& limits) {
  FUZZ_CHECK(within(request, request.method));
  FUZZ_CHECK(within(request, request.target));
  FUZZ_CHECK(request.method.size > 0);
  FUZZ_CHECK(!request.target_text().empty() && request.target_text().front() == '/');
  for (const HttpRequest::Field& field : request.fields) {
    FUZZ_CHECK(within(request, field.name));
    FUZZ_CHECK(within(request, field.value));
    FUZZ_CHECK(field.name.size > 0);
  }
  FUZZ_CHECK(request.fields.size() <= limits.max_headers);
  FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
  FUZZ_CHECK(request.minor_version == 0 || request.minor_version == 1);
  FUZZ_CHECK(request.client_ip.empty());
}

// Parses `stream` handing the parser at most `piece` bytes per call.
Parsed parse_stream(const char* stream, std::size_t size, std::size_t piece) {
  const ParserLimits limits = fuzz_limits();
  RequestParser parser(limits);
  Parsed parsed;
  std::size_t at = 0;
  while (at < size) {
    std::size_t given = piece < size - at ? piece : size - at;
    std::size_t consumed = ~std::size_t{0};
    HttpRequest request;
    RequestParser::Result result = parser.parse(stream + at, given, &consumed, &request);
    FUZZ_CHECK(consumed <= given);
    switch (result) {
      case RequestParser::Result::need_more:
        FUZZ_CHECK(consumed == given);
        FUZZ_CHECK(!(parser.awaiting_continue() && !parser.in_body()));
        break;
      case RequestParser::Result::complete:
        FUZZ_CHECK(consumed > 0);
        FUZZ_CHECK(parser.idle() && !parser.in_body() && !parser.awaiting_continue());
        check_request(request, limits);
        parsed.requests.push_back({std::string(request.method_name()), std::string(request.target_text()), request.body,
                                   request.fields.size(), request.keep_alive, request.expect_continue, at + consumed});
        break;
      case RequestParser::Result::error: {
        FUZZ_CHECK(consumed == given);
        const flashsale::ParseError& error = parser.error();
        FUZZ_CHECK(!error.message.empty() && error.code != nullptr);
        FUZZ_CHECK(error.status == 400 || error.status == 413 || error.status == 414 || error.status == 417 ||
                   error.status == 431 || error.status == 501 || error.status == 505);
        FUZZ_CHECK(!parser.idle() && !parser.awaiting_continue());
        parsed.status = error.status;
        parsed.last = result;
        // Fed again, a failed parser still refuses.
        std::size_t again = 0;
        FUZZ_CHECK(parser.parse(stream, size, &again, &request) == RequestParser::Result::error);
        FUZZ_CHECK(again == size);
        return parsed;
      }
    }
    parsed.last = result;
    at += consumed;
  }
  // A stream that ended on a complete request is, for what follows, waiting.
  if (parsed.last == RequestParser::Result::complete) parsed.last = RequestParser::Result::need_more;
  return parsed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = data[0] == 0 ? 1 : data[0];
  const char* stream = reinterpret_cast<const char*>(data + 1);
  std::size_t length = size - 1;

  Parsed whole = parse_stream(stream, length, length == 0 ? 1 : length);
  Parsed cut = parse_stream(stream, length, piece);
  Parsed bytes = parse_stream(stream, length, 1);
  for (const Parsed* other : {&cut, &bytes}) {
    FUZZ_CHECK(other->last == whole.last);
    FUZZ_CHECK(other->status == whole.status);
    FUZZ_CHECK(other->requests.size() == whole.requests.size());
    for (std::size_t i = 0; i < whole.requests.size(); ++i) {
      const Parsed::Request& a = whole.requests[i];
      const Parsed::Request& b = other->requests[i];
      FUZZ_CHECK(a.method == b.method && a.target == b.target && a.body == b.body);
      FUZZ_CHECK(a.fields == b.fields && a.keep_alive == b.keep_alive && a.expect_continue == b.expect_continue);
      FUZZ_CHECK(a.end == b.end);
    }
  }
  return 0;
}
