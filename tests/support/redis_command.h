// One Redis command on one server, over a plain loopback socket: what the
// cluster harness and benches use to drive and inspect single nodes (CLUSTER,
// MIGRATE, INFO commandstats) without linking a Redis client library. Every
// call opens its own connection, so it is safe from any thread.
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

}  // namespace flashsale::test
