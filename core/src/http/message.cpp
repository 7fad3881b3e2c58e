#include "http/message.h"

#include <charconv>

#include "http/error_mapping.h"

namespace flashsale {

namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

void append_number(std::string* out, std::size_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out->append(digits, end);
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view HttpRequest::path() const {
  std::string_view t = target_text();
  return t.substr(0, t.find('?'));
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> HttpRequest::query(std::string_view name) const {
  std::string_view t = target_text();
  std::size_t mark = t.find('?');
  if (mark == std::string_view::npos) return std::nullopt;
  std::string_view rest = t.substr(mark + 1);
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string() : percent_decoded(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const Field& field : fields) {
    if (equals_ignore_case(view(field.name), name)) return view(field.value);
  }
  return {};
}

bool HttpRequest::has_header(std::string_view name) const {
  for (const Field& field : fields) {
    if (equals_ignore_case(view(field.name), name)) return true;
  }
  return false;
}

HttpRequest HttpRequest::make(std::string_view method, std::string_view target,
                              const std::vector<std::pair<std::string, std::string>>& headers, std::string body) {
  HttpRequest request;
  auto span_of = [&](std::string_view text) {
    HeadSpan span{static_cast<std::uint32_t>(request.head.size()), static_cast<std::uint32_t>(text.size())};
    request.head.append(text);
    return span;
  };
  request.method = span_of(method);
  request.head += ' ';
  request.target = span_of(target);
  request.head += " HTTP/1.1\r\n";
  for (const auto& [name, value] : headers) {
    Field field;
    field.name = span_of(name);
    request.head += ": ";
    field.value = span_of(value);
    request.head += "\r\n";
    request.fields.push_back(field);
  }
  request.head += "\r\n";
  request.body = std::move(body);
  return request;
}

HttpResponse HttpResponse::error(int status, const char* code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = error_body(code, std::string(message));
  return response;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void append_response(const HttpResponse& response, bool head_only, ConnectionHeader connection, std::string_view date,
                     std::string* out) {
  out->append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(response.status));
  *out += ' ';
  out->append(reason_phrase(response.status));
  out->append("\r\nDate: ");
  out->append(date);
  out->append("\r\nContent-Type: ");
  out->append(response.content_type);
  out->append("\r\nContent-Length: ");
  append_number(out, response.body.size());
  out->append("\r\n");
  for (const auto& [name, value] : response.headers) {
    out->append(name).append(": ").append(value).append("\r\n");
  }
  if (connection == ConnectionHeader::close) out->append("Connection: close\r\n");
  if (connection == ConnectionHeader::keep_alive) out->append("Connection: keep-alive\r\n");
  out->append("\r\n");
  if (!head_only) out->append(response.body);
}

}  // namespace flashsale
