// A minimal RESP2 reader: enough of the protocol for the replies of the
// commands tests send (no RESP3, no pushes), each read under one deadline.
#include "support/redis_command.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace flashsale::test {

namespace {

class Connection {
 public:
  Connection(int port, int timeout_ms)
      : port_(port), deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      throw std::runtime_error("cannot connect to redis on port " + std::to_string(port));
    }
  }
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send_all(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) fail("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  RedisReply read_reply() {
    std::string line = read_line();
    if (line.empty()) fail("empty reply line");
    RedisReply reply;
    std::string rest = line.substr(1);
    switch (line[0]) {
      case '+':
        reply.type = RedisReply::Type::status;
        reply.text = rest;
        return reply;
      case '-':
        reply.type = RedisReply::Type::error;
        reply.text = rest;
        return reply;
      case ':':
        reply.type = RedisReply::Type::integer;
        reply.text = rest;
        return reply;
      case '$': {
        long long length = std::stoll(rest);
        if (length < 0) return reply;  // nil
        reply.type = RedisReply::Type::bulk;
        reply.text = read_exact(static_cast<std::size_t>(length) + 2);
        reply.text.resize(static_cast<std::size_t>(length));
        return reply;
      }
      case '*': {
        long long count = std::stoll(rest);
        if (count < 0) return reply;  // nil array
        reply.type = RedisReply::Type::array;
        for (long long i = 0; i < count; ++i) reply.elements.push_back(read_reply());
        return reply;
      }
      default:
        fail("not a RESP reply: " + line);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("redis on port " + std::to_string(port_) + ": " + what);
  }

  void fill() {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) fail("no reply within the deadline");
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) fail("no reply within the deadline");
    char chunk[16384];
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) fail("connection closed");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }

  std::string read_line() {
    std::size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) fill();
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  std::string read_exact(std::size_t count) {
    while (buffer_.size() < count) fill();
    std::string bytes = buffer_.substr(0, count);
    buffer_.erase(0, count);
    return bytes;
  }

  int port_;
  std::chrono::steady_clock::time_point deadline_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace

RedisReply redis_command(int port, const std::vector<std::string>& args, int timeout_ms) {
  return redis_commands(port, {args}, timeout_ms).at(0);
}

std::vector<RedisReply> redis_commands(int port, const std::vector<std::vector<std::string>>& commands,
                                       int timeout_ms) {
  std::string request;
  for (const auto& args : commands) {
    request += "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& arg : args) request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  Connection connection(port, timeout_ms);
  connection.send_all(request);
  std::vector<RedisReply> replies;
  for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(connection.read_reply());
  return replies;
}

}  // namespace flashsale::test
