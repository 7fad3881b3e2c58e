// One hiredis connection to the Redis server, used by one thread at a time
// (hiredis contexts are not thread-safe; connection_pool.h hands them out).
// Turns hiredis' two failure kinds into Status values: an I/O failure
// (refused, reset, timed out) is Code::unavailable and breaks the connection,
// so the pool drops it and the next caller reconnects; an error reply from
// Redis keeps the connection usable and is unavailable when retrying later
// can help (LOADING, BUSY, OOM, ...), internal otherwise.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flashsale/status.h"

namespace flashsale::redis {

struct ReplyFree {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Where and how to connect; `name` is how messages refer to the server,
// e.g. "redis.addr (REDIS_ADDR) 127.0.0.1:6379".
struct Endpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::string name;
};

class Connection {
 public:
  // Connects and selects the database; nullptr with *error (unavailable) on
  // failure.
  static std::unique_ptr<Connection> open(const Endpoint& endpoint, Status* error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one command. ok with *reply set, or the failure described above.
  Status command(const std::vector<std::string>& argv, Reply* reply);
  // The same for a command that blocks on the server up to `wait` (XREADGROUP
  // BLOCK): the read timeout is stretched by `wait` for this one call.
  Status blocking_command(const std::vector<std::string>& argv, std::chrono::milliseconds wait, Reply* reply);

  // Pipelining (pipeline.cpp), for a thread that keeps SIGPIPE blocked for
  // its whole life: append() only buffers a command; read_reply() returns the
  // replies in order, the first one writing out everything buffered.
  // An I/O failure breaks the connection like command() does.
  Status append(const std::vector<std::string>& argv);
  Status read_reply(Reply* reply);

  bool broken() const { return broken_; }
  // True when the server closed this idle connection (it restarted, or timed
  // us out): there is something to read although no command is outstanding.
  bool closed_by_server() const;

 private:
  Connection(redisContext* context, const Endpoint& endpoint) : context_(context), endpoint_(endpoint) {}
  Status io_failure(const char* what);
  Status judge(Reply* reply) const;  // an error reply as a Status

  redisContext* context_;
  const Endpoint endpoint_;
  bool broken_ = false;
};

// True when `status` carries a Redis error reply starting with `prefix`
// (e.g. "NOSCRIPT", "NOGROUP", "BUSYGROUP").
bool is_redis_error(const Status& status, std::string_view prefix);

std::string reply_text(const redisReply* reply);       // string/status/error value, "" otherwise
std::string_view reply_view(const redisReply* reply);  // the same, without a copy: lives as long as the reply
// The value of an integer reply, or of a string reply holding an integer.
bool reply_int(const redisReply* reply, std::int64_t* out);
Status unexpected_reply(const std::string& what);  // internal: "<what>: unexpected reply"

}  // namespace flashsale::redis
