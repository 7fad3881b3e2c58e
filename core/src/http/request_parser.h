// A strict HTTP/1.1 request parser (RFC 9112): bytes in, a complete request
// or a precise error out. It never blocks and never loops without consuming
// a byte; every size it accepts has a limit. One parser per connection: it
// keeps what it has seen of the current request between calls, so a request
// may arrive one byte at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "http/message.h"

namespace flashsale {

struct ParserLimits {
  std::size_t max_request_line = 8192;   // longer → 414
  std::size_t max_header_bytes = 16384;  // request line + header lines; more → 431 (at most 65535)
  std::size_t max_headers = 64;          // field lines; more → 431
  std::size_t max_body_bytes = 16384;    // decoded body; more → 413
  std::size_t max_chunk_line = 1024;     // a chunk-size line with its extensions; more → 400
  std::size_t max_trailer_bytes = 4096;  // trailer section; more → 431
};

// Why a request was refused. The connection always closes after answering
// one: once framing is in doubt, nothing after it can be trusted.
struct ParseError {
  int status = 400;
  const char* code = "bad_request";  // the JSON error code
  std::string message;
};

class RequestParser {
 public:
  enum class Result { need_more, complete, error };

  explicit RequestParser(const ParserLimits& limits) : limits_(limits) {}

  // Consumes bytes of data[0, size) into the current request. *consumed
  // says how many were taken: all of them on need_more and error, up to the
  // request's last byte on complete (what follows belongs to the next,
  // pipelined request). On complete, *request holds the request (its
  // client_ip left empty) and the parser is ready for the next one. After
  // error, error() says why and the parser must not be fed again.
  Result parse(const char* data, std::size_t size, std::size_t* consumed, HttpRequest* request);

  const ParseError& error() const { return error_; }

  // No byte of a request has arrived since the last complete one.
  bool idle() const;
  // The header block is complete and the body is still arriving.
  bool in_body() const;
  // The header block asked for 100-continue and no body byte has arrived:
  // the connection layer answers "100 Continue" once.
  bool awaiting_continue() const;

 private:
  enum class State { request_line, headers, body_length, chunk_size, chunk_data, chunk_data_end, trailers, failed };
  // The unread part of the bytes given to parse().
  struct Input {
    const char* at;
    const char* end;
  };

  // Each step consumes at least one byte of *in (or fails).
  Result parse_head(Input* in);
  Result parse_request_line(std::size_t size);
  Result parse_field_line(std::size_t size);
  Result finish_head();
  Result parse_body(Input* in);
  Result parse_chunk_size(Input* in);
  Result parse_chunk_data(Input* in);
  Result parse_chunk_data_end(Input* in);
  Result parse_trailers(Input* in);
  Result fail(int status, const char* code, std::string message);
  void reset();

  ParserLimits limits_;
  ParseError error_;
  State state_ = State::request_line;
  HttpRequest current_;
  std::size_t line_start_ = 0;   // where the head line in progress starts in current_.head
  std::size_t skipped_ = 0;      // bytes of empty lines before the request line, counted toward max_header_bytes
  std::uint64_t remaining_ = 0;  // body bytes, bytes of the current chunk, or bytes of a chunk's CRLF still to come
  std::string line_;             // a chunk-size or trailer line split across calls
  std::size_t trailer_bytes_ = 0;
  HeadSpan target_query_;  // an absolute-form target without a path: its "?query" (or nothing), after "/"
  bool target_needs_root_ = false;
  bool continue_pending_ = false;
};

}  // namespace flashsale
