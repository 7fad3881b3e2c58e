// One Redis command on one server, over a plain loopback socket: what the
// cluster harness and benches use to drive and inspect single nodes (CLUSTER,
// MIGRATE, INFO commandstats) without linking a Redis client library. Every
// call opens its own connection, so it is safe from any thread; commands
// whose meaning depends on the connection (WAIT after a write, ASKING before
// a command) go together in one redis_commands call.
#pragma once

#include <string>
#include <vector>

namespace flashsale::test {

struct RedisReply {
  enum class Type { status, error, integer, bulk, nil, array };
  Type type = Type::nil;
  std::string text;  // status, error and bulk as sent; an integer in decimal
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::error; }
};

// Sends `args` as one RESP command to 127.0.0.1:port and reads its reply.
// Throws std::runtime_error when the server cannot be reached, closes the
// connection, or has not answered within timeout_ms. A Redis error reply is
// returned, not thrown.
RedisReply redis_command(int port, const std::vector<std::string>& args, int timeout_ms = 5000);

// Several commands pipelined on one connection; their replies in order.
std::vector<RedisReply> redis_commands(int port, const std::vector<std::vector<std::string>>& commands,
                                       int timeout_ms = 5000);

}  // namespace flashsale::test
