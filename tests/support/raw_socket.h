// A plain TCP client for byte-exact HTTP: the server gets exactly the bytes a
// test wrote (no client library fixing up framing), and every read has a
// deadline, so a server that stalls fails the test instead of hanging it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashsale::test {

// A request that keeps the connection open: what tests send to see whether it is.
inline constexpr std::string_view kHealthzRequest = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

struct RawResponse {
  int status = 0;
  std::string status_line;  // without its CRLF
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string header(std::string_view name) const;  // the first field so named (any case); "" if none
  bool has_header(std::string_view name) const;
  std::string error_code() const;  // the JSON body's error.code; "" if none
};

class RawSocket {
 public:
  // Connects to 127.0.0.1:port, from `source_ip` when not empty; a positive
  // `receive_buffer` sets SO_RCVBUF before connecting. Throws
  // std::runtime_error when it cannot connect.
  explicit RawSocket(int port, const std::string& source_ip = "", int receive_buffer = 0);
  ~RawSocket();
  RawSocket(RawSocket&& other) noexcept;
  RawSocket& operator=(RawSocket&& other) noexcept;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  int fd() const { return fd_; }

  // Sends every byte; false when the connection failed (reset, closed) or a
  // send blocked for 10 s. Safe to call from one thread while another reads.
  bool send_all(std::string_view bytes);
  // One response: head, then a body of Content-Length bytes (none for 1xx
  // or after HEAD). nullopt when the connection ends or the deadline passes
  // first, or the head is not HTTP.
  std::optional<RawResponse> read_response(int timeout_ms, bool head_request = false);
  // Reads until the peer closes (EOF or reset): true if it did within the
  // deadline. What arrived meanwhile goes to *rest when given.
  bool wait_closed(int timeout_ms, std::string* rest = nullptr);
  // Bytes received so far and not consumed by read_response.
  const std::string& unread() const { return buffer_; }
  void close();

 private:
  enum class Fill { data, eof, failed, timeout };
  Fill fill(int timeout_ms);

  int fd_ = -1;
  std::string buffer_;
};

// Milliseconds of a steady clock, for deadlines and elapsed times.
long long steady_now_ms();

}  // namespace flashsale::test
