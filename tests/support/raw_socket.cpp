#include "support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace flashsale::test {

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

sockaddr_in loopback(const std::string& ip, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) throw std::runtime_error("bad address " + ip);
  return address;
}

}  // namespace

long long steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string RawResponse::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (equals_ignore_case(field, name)) return value;
  }
  return {};
}

bool RawResponse::has_header(std::string_view name) const {
  for (const auto& field : headers) {
    if (equals_ignore_case(field.first, name)) return true;
  }
  return false;
}

std::string RawResponse::error_code() const {
  try {
    auto parsed = Poco::JSON::Parser().parse(body);
    auto object = parsed.extract<Poco::JSON::Object::Ptr>();
    auto error = object->getObject("error");
    return error ? error->getValue<std::string>("code") : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

RawSocket::RawSocket(int port, const std::string& source_ip, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  timeval send_timeout{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  if (!source_ip.empty()) {
    sockaddr_in source = loopback(source_ip, 0);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
      int error = errno;
      close();
      throw std::runtime_error("bind " + source_ip + ": " + std::strerror(error));
    }
  }
  sockaddr_in server = loopback("127.0.0.1", port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    int error = errno;
    close();
    throw std::runtime_error(std::string("connect: ") + std::strerror(error));
  }
}

RawSocket::~RawSocket() {
  close();
}

RawSocket::RawSocket(RawSocket&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RawSocket& RawSocket::operator=(RawSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawSocket::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

RawSocket::Fill RawSocket::fill(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, std::max(timeout_ms, 0));
  if (ready == 0) return Fill::timeout;
  if (ready < 0) return errno == EINTR ? Fill::timeout : Fill::failed;
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n > 0) {
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return Fill::data;
  }
  if (n == 0) return Fill::eof;
  return errno == EINTR || errno == EAGAIN ? Fill::timeout : Fill::failed;
}

std::optional<RawResponse> RawSocket::read_response(int timeout_ms, bool head_request) {
  const long long deadline = steady_now_ms() + timeout_ms;
  auto more = [&] {
    long long left = deadline - steady_now_ms();
    return left > 0 && fill(static_cast<int>(left)) == Fill::data;
  };
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!more()) return std::nullopt;
  }
  RawResponse response;
  std::string_view head(buffer_.data(), head_end + 2);  // each line with its CRLF
  std::size_t line_end = head.find("\r\n");
  response.status_line = std::string(head.substr(0, line_end));
  if (response.status_line.size() < 12 || response.status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  response.status = std::atoi(response.status_line.c_str() + 9);
  for (std::size_t at = line_end + 2; at < head.size();) {
    std::size_t end = head.find("\r\n", at);
    std::string_view line = head.substr(at, end - at);
    std::size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    at = end + 2;
  }
  std::size_t length = 0;
  bool has_body = !head_request && response.status >= 200 && response.status != 204 && response.status != 304;
  if (has_body) length = static_cast<std::size_t>(std::atoll(response.header("Content-Length").c_str()));
  std::size_t body_at = head_end + 4;
  while (buffer_.size() < body_at + length) {
    if (!more()) return std::nullopt;
  }
  response.body = buffer_.substr(body_at, length);
  buffer_.erase(0, body_at + length);
  return response;
}

bool RawSocket::wait_closed(int timeout_ms, std::string* rest) {
  const long long deadline = steady_now_ms() + timeout_ms;
  for (;;) {
    long long left = deadline - steady_now_ms();
    if (left <= 0) return false;
    Fill result = fill(static_cast<int>(left));
    if (result == Fill::eof || result == Fill::failed) break;
  }
  if (rest != nullptr) *rest = buffer_;
  buffer_.clear();
  return true;
}

}  // namespace flashsale::test
