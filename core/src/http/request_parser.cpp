// The request parser is a state machine over whatever bytes the connection
// has read: the head is taken a line at a time (one memchr to find the LF,
// one table-driven pass to check the line), the body by plain copies. Each
// call of a step consumes at least one byte, so parse() always ends, and a
// request cut at any byte parses exactly as it does whole. Framing rules
// follow RFC 9112 strictly: whatever a lenient front proxy could read
// differently (both Content-Length and Transfer-Encoding, bare LF, obs-fold,
// whitespace before a colon) is refused, because the connection is closed
// after any error and nothing ambiguous reaches a handler.
#include "http/request_parser.h"

#include "http/field_syntax.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace flashsale {

namespace {

using namespace http_syntax;

HeadSpan span(std::size_t at, std::size_t size) {
  return HeadSpan{static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(size)};
}

}  // namespace

RequestParser::Result RequestParser::parse(const char* data, std::size_t size, std::size_t* consumed,
                                           HttpRequest* request) {
  Input in{data, data + size};
  Result result = state_ == State::failed ? Result::error : Result::need_more;
  while (result == Result::need_more && in.at < in.end) {
    switch (state_) {
      case State::request_line:
      case State::headers:
        result = parse_head(&in);
        break;
      case State::body_length:
        result = parse_body(&in);
        break;
      case State::chunk_size:
        result = parse_chunk_size(&in);
        break;
      case State::chunk_data:
        result = parse_chunk_data(&in);
        break;
      case State::chunk_data_end:
        result = parse_chunk_data_end(&in);
        break;
      case State::trailers:
        result = parse_trailers(&in);
        break;
      case State::failed:
        result = Result::error;
        break;
    }
  }
  if (result == Result::complete) {
    *consumed = static_cast<std::size_t>(in.at - data);
    *request = std::move(current_);
    reset();
  } else {
    *consumed = size;
  }
  return result;
}

bool RequestParser::idle() const {
  return state_ == State::request_line && current_.head.empty();
}

bool RequestParser::in_body() const {
  switch (state_) {
    case State::body_length:
    case State::chunk_size:
    case State::chunk_data:
    case State::chunk_data_end:
    case State::trailers:
      return true;
    default:
      return false;
  }
}

bool RequestParser::awaiting_continue() const {
  return continue_pending_;
}

RequestParser::Result RequestParser::fail(int status, const char* code, std::string message) {
  state_ = State::failed;
  continue_pending_ = false;
  error_ = ParseError{status, code, std::move(message)};
  return Result::error;
}

void RequestParser::reset() {
  state_ = State::request_line;
  current_ = HttpRequest();
  line_start_ = 0;
  skipped_ = 0;
  remaining_ = 0;
  line_.clear();
  trailer_bytes_ = 0;
  target_query_ = HeadSpan{};
  target_needs_root_ = false;
  continue_pending_ = false;
}

// One line of the head (or what there is of it) into current_.head.
RequestParser::Result RequestParser::parse_head(Input* in) {
  std::string& head = current_.head;
  std::size_t available = static_cast<std::size_t>(in->end - in->at);
  if (head.empty() && state_ == State::request_line) {
    // One allocation for the head when all of it is here.
    std::size_t window = std::min(available, limits_.max_header_bytes);
    std::size_t end = std::string_view(in->at, window).find("\r\n\r\n");
    head.reserve((end == std::string_view::npos ? window : end + 4) + 1);  // + 1: a "/" for an absolute-form target
  }
  const char* lf = static_cast<const char*>(std::memchr(in->at, '\n', available));
  std::size_t take = lf != nullptr ? static_cast<std::size_t>(lf - in->at) + 1 : available;
  // Limits are judged in byte order, so a request cut anywhere fails as it
  // does whole: the line-length limit sees only the bytes within the head's
  // budget, and the byte past that budget is the head limit's.
  std::size_t used = std::min(limits_.max_header_bytes, skipped_ + head.size());
  std::size_t budget = limits_.max_header_bytes - used;
  bool over_budget = take > budget;
  std::size_t seen = over_budget ? budget : take;
  bool seen_lf = lf != nullptr && !over_budget;
  std::size_t before_lf = head.size() - line_start_ + seen - (seen_lf ? 1 : 0);
  if (state_ == State::request_line && before_lf > 0) {
    char last = seen > (seen_lf ? 1u : 0u) ? in->at[seen - 1 - (seen_lf ? 1 : 0)] : head.back();
    if (line_exceeds(before_lf, last, limits_.max_request_line)) {
      return fail(414, "uri_too_long",
                  "the request line is longer than " + std::to_string(limits_.max_request_line) + " bytes");
    }
  }
  if (over_budget) {
    return fail(431, "header_fields_too_large",
                "the request head is larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
  }
  head.append(in->at, take);
  in->at += take;
  if (lf == nullptr) return Result::need_more;

  std::size_t line_size = head.size() - line_start_;
  if (line_size < 2 || head[head.size() - 2] != '\r') {
    return fail(400, "bad_request", "a line of the request head ends in a bare LF, not CRLF");
  }
  std::size_t content = line_size - 2;
  if (state_ == State::request_line) {
    if (content == 0) {  // an empty line before the request line (RFC 9112 §2.2)
      skipped_ += 2;
      head.clear();
      return Result::need_more;
    }
    return parse_request_line(content);
  }
  if (content == 0) return finish_head();
  return parse_field_line(content);
}

RequestParser::Result RequestParser::parse_request_line(std::size_t size) {
  std::string_view line(current_.head.data(), size);
  std::size_t i = 0;
  while (i < size && is(line[i], kToken)) ++i;
  if (i == 0 || i == size || line[i] != ' ') {
    return fail(400, "bad_request", "the request line must start with a method token and one space");
  }
  current_.method = span(0, i);
  std::size_t target_at = ++i;
  while (i < size && is(line[i], kTargetByte)) ++i;
  if (i == target_at) return fail(400, "bad_request", "the request target is empty");
  if (i == size) return fail(400, "bad_request", "the request line has no HTTP version");
  if (line[i] != ' ') return fail(400, "bad_request", "the request target has a byte that is not visible ASCII");
  std::string_view target = line.substr(target_at, i - target_at);

  std::string_view version = line.substr(i + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) || version[6] != '.' ||
      !digit(version[7])) {
    return fail(400, "bad_request", "the request line must end in one space and HTTP/1.1 or HTTP/1.0");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return fail(505, "http_version_not_supported", "only HTTP/1.1 and HTTP/1.0 are supported");
  }
  current_.minor_version = version[7] - '0';

  if (target.front() == '/') {
    current_.target = span(target_at, target.size());
  } else {
    std::size_t scheme = starts_with_ignore_case(target, "http://")    ? 7
                         : starts_with_ignore_case(target, "https://") ? 8
                                                                       : 0;
    if (scheme == 0) {
      return fail(400, "bad_request", "the request target must be a path (origin-form) or an http(s) URI");
    }
    std::size_t path = target.find_first_of("/?", scheme);
    if (path == std::string_view::npos) path = target.size();
    std::string_view authority = target.substr(scheme, path - scheme);
    if (authority.empty() || !all_of_class(authority, kHostByte)) {
      return fail(400, "bad_request", "the request target's authority is empty or malformed");
    }
    if (path < target.size() && target[path] == '/') {
      current_.target = span(target_at + path, target.size() - path);
    } else {  // "http://host" or "http://host?q": the path is "/", added when the head is complete
      target_needs_root_ = true;
      target_query_ = span(target_at + path, target.size() - path);
    }
  }
  state_ = State::headers;
  line_start_ = current_.head.size();
  current_.fields.reserve(12);
  return Result::need_more;
}

RequestParser::Result RequestParser::parse_field_line(std::size_t size) {
  if (current_.fields.size() >= limits_.max_headers) {
    return fail(431, "header_fields_too_large",
                "the request has more than " + std::to_string(limits_.max_headers) + " header fields");
  }
  std::string_view line(current_.head.data() + line_start_, size);
  std::size_t name_end = 0;
  std::size_t value_at = 0;
  std::size_t value_end = 0;
  if (const char* refusal = check_field_line(line, &name_end, &value_at, &value_end)) {
    return fail(400, "bad_request", refusal);
  }
  current_.fields.push_back(
      HttpRequest::Field{span(line_start_, name_end), span(line_start_ + value_at, value_end - value_at)});
  line_start_ = current_.head.size();
  return Result::need_more;
}

// The head is complete: decide the framing and what the client asked of the
// connection, refusing anything ambiguous.
RequestParser::Result RequestParser::finish_head() {
  HttpRequest& request = current_;
  int hosts = 0;
  bool has_length = false;
  bool bad_length = false;
  std::uint64_t length = 0;
  bool has_coding = false;
  int codings = 0;
  bool only_chunked = true;
  bool close = false;
  bool keep_alive = false;
  bool expect_continue = false;
  bool bad_expectation = false;
  bool bad_host = false;
  for (const HttpRequest::Field& field : request.fields) {
    std::string_view name = request.view(field.name);
    std::string_view value = request.view(field.value);
    switch (name.size()) {
      case 4:
        if (named(name, "host")) {
          ++hosts;
          if (!all_of_class(value, kHostByte)) bad_host = true;
        }
        break;
      case 6:
        if (named(name, "expect")) {
          if (equals_ignore_case(value, "100-continue")) {
            expect_continue = true;
          } else {
            bad_expectation = true;
          }
        }
        break;
      case 10:
        if (named(name, "connection")) {
          for_each_element(value, [&](std::string_view option) {
            if (equals_ignore_case(option, "close")) close = true;
            if (equals_ignore_case(option, "keep-alive")) keep_alive = true;
          });
        }
        break;
      case 14:
        if (named(name, "content-length")) {
          for_each_element(value, [&](std::string_view number) {
            std::uint64_t parsed = 0;
            bool ok = !number.empty() && number.size() <= 19;  // 19 digits always fit in 64 bits
            for (std::size_t i = 0; ok && i < number.size(); ++i) {
              ok = number[i] >= '0' && number[i] <= '9';
              parsed = parsed * 10 + static_cast<std::uint64_t>(number[i] - '0');
            }
            if (!ok || (has_length && parsed != length)) bad_length = true;
            has_length = true;
            length = parsed;
          });
        }
        break;
      case 17:
        if (named(name, "transfer-encoding")) {
          has_coding = true;
          for_each_element(value, [&](std::string_view coding) {
            ++codings;
            if (!equals_ignore_case(coding, "chunked")) only_chunked = false;
          });
        }
        break;
      default:
        break;
    }
  }

  if (hosts > 1) return fail(400, "bad_request", "the request has more than one Host field");
  if (hosts == 0 && request.minor_version == 1)
    return fail(400, "bad_request", "an HTTP/1.1 request needs a Host field");
  if (bad_host) return fail(400, "bad_request", "the Host field is not a host name with an optional port");
  if (bad_length) {
    return fail(400, "bad_request", "Content-Length must be one decimal number (repeated values must be identical)");
  }
  if (has_coding && has_length) {
    return fail(400, "bad_request",
                "both Content-Length and Transfer-Encoding are present (refused: a request smuggling risk)");
  }
  if (has_coding && request.minor_version == 0) {
    return fail(400, "bad_request", "Transfer-Encoding is not allowed in an HTTP/1.0 request");
  }
  if (has_coding && (codings != 1 || !only_chunked)) {
    return fail(501, "not_implemented", "the only transfer coding accepted is a single \"chunked\"");
  }
  if (length > limits_.max_body_bytes) {
    return fail(413, "payload_too_large",
                "the body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  if (bad_expectation) return fail(417, "expectation_failed", "the only expectation accepted is 100-continue");

  // RFC 9110 §10.1.1: a 100-continue expectation in HTTP/1.0 is ignored.
  request.expect_continue = expect_continue && request.minor_version == 1;
  request.keep_alive = !close && (request.minor_version == 1 || keep_alive);
  if (target_needs_root_) {
    std::string query = std::string(request.view(target_query_));
    request.target = span(request.head.size(), 1 + query.size());
    request.head += '/';
    request.head += query;
  }
  if (has_coding) {
    state_ = State::chunk_size;
  } else if (length > 0) {
    state_ = State::body_length;
    remaining_ = length;
    request.body.reserve(static_cast<std::size_t>(length));
  } else {
    return Result::complete;
  }
  continue_pending_ = request.expect_continue;
  return Result::need_more;
}

RequestParser::Result RequestParser::parse_body(Input* in) {
  continue_pending_ = false;
  std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(in->end - in->at)));
  current_.body.append(in->at, take);
  in->at += take;
  remaining_ -= take;
  return remaining_ == 0 ? Result::complete : Result::need_more;
}

RequestParser::Result RequestParser::parse_chunk_size(Input* in) {
  continue_pending_ = false;
  std::size_t available = static_cast<std::size_t>(in->end - in->at);
  const char* lf = static_cast<const char*>(std::memchr(in->at, '\n', available));
  std::size_t take = lf != nullptr ? static_cast<std::size_t>(lf - in->at) + 1 : available;
  std::size_t before_lf = line_.size() + take - (lf != nullptr ? 1 : 0);
  if (before_lf > 0) {
    char last = take > (lf != nullptr ? 1u : 0u) ? in->at[take - 1 - (lf != nullptr ? 1 : 0)] : line_.back();
    if (line_exceeds(before_lf, last, limits_.max_chunk_line)) {
      return fail(400, "bad_request",
                  "a chunk-size line is longer than " + std::to_string(limits_.max_chunk_line) + " bytes");
    }
  }
  std::string_view line;
  if (lf == nullptr) {
    line_.append(in->at, take);
    in->at += take;
    return Result::need_more;
  }
  if (line_.empty()) {
    line = std::string_view(in->at, take);  // the common case: read in place
  } else {
    line_.append(in->at, take);
    line = line_;
  }
  in->at += take;
  if (line.size() < 2 || line[line.size() - 2] != '\r') {
    return fail(400, "bad_request", "a chunk-size line ends in a bare LF, not CRLF");
  }
  line.remove_suffix(2);

  std::size_t digits = 0;
  std::uint64_t size = 0;
  while (digits < line.size() && is(line[digits], kHexDigit)) {
    char c = line[digits];
    int value = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    size = size << 4 | static_cast<std::uint64_t>(value);
    ++digits;
  }
  if (digits == 0) return fail(400, "bad_request", "a chunk-size line must start with a hexadecimal size");
  if (digits > 15) return fail(400, "bad_request", "a chunk size has more than 15 hexadecimal digits");
  std::string_view extensions = line.substr(digits);
  if (!extensions.empty()) {  // BWS ";" ext, with the extension's syntax beyond its bytes left unchecked
    std::size_t space = 0;
    while (space < extensions.size() && is_space(extensions[space])) ++space;
    if (space == extensions.size() || extensions[space] != ';') {
      return fail(400, "bad_request", "a chunk size must be followed by CRLF or \";\" and an extension");
    }
    if (!all_of_class(extensions.substr(space), kFieldByte)) {
      return fail(400, "bad_request", "a chunk extension has a control character");
    }
  }
  line_.clear();

  if (size == 0) {
    state_ = State::trailers;
    trailer_bytes_ = 0;
    return Result::need_more;
  }
  if (current_.body.size() + size > limits_.max_body_bytes) {
    return fail(413, "payload_too_large",
                "the body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  remaining_ = size;
  state_ = State::chunk_data;
  return Result::need_more;
}

RequestParser::Result RequestParser::parse_chunk_data(Input* in) {
  std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(in->end - in->at)));
  current_.body.append(in->at, take);
  in->at += take;
  remaining_ -= take;
  if (remaining_ == 0) {
    state_ = State::chunk_data_end;
    remaining_ = 2;
  }
  return Result::need_more;
}

RequestParser::Result RequestParser::parse_chunk_data_end(Input* in) {
  char expected = remaining_ == 2 ? '\r' : '\n';
  if (*in->at != expected) return fail(400, "bad_request", "chunk data is not followed by CRLF");
  ++in->at;
  if (--remaining_ == 0) state_ = State::chunk_size;
  return Result::need_more;
}

// Trailer fields are checked like header fields, then dropped: nothing here
// reads them, and merging them into the head would let them pose as headers.
RequestParser::Result RequestParser::parse_trailers(Input* in) {
  std::size_t available = static_cast<std::size_t>(in->end - in->at);
  const char* lf = static_cast<const char*>(std::memchr(in->at, '\n', available));
  std::size_t take = lf != nullptr ? static_cast<std::size_t>(lf - in->at) + 1 : available;
  if (trailer_bytes_ + take > limits_.max_trailer_bytes) {
    return fail(431, "header_fields_too_large",
                "the trailer section is larger than " + std::to_string(limits_.max_trailer_bytes) + " bytes");
  }
  trailer_bytes_ += take;
  line_.append(in->at, take);
  in->at += take;
  if (lf == nullptr) return Result::need_more;

  std::string_view line = line_;
  if (line.size() < 2 || line[line.size() - 2] != '\r') {
    return fail(400, "bad_request", "a trailer line ends in a bare LF, not CRLF");
  }
  line.remove_suffix(2);
  if (line.empty()) return Result::complete;
  std::size_t name_end = 0;
  std::size_t value_at = 0;
  std::size_t value_end = 0;
  if (const char* refusal = check_field_line(line, &name_end, &value_at, &value_end)) {
    return fail(400, "bad_request", refusal);
  }
  line_.clear();
  return Result::need_more;
}

}  // namespace flashsale
