// A real redis-server for tests: started on a free loopback port with its own
// temp dir (no RDB snapshots; append-only file on request), ready once PING
// answers, killed on destruction, pass or fail. It can be killed and started
// again on the same port and dir, to test outages and restarts.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace flashsale::test {

struct RedisServerOptions {
  bool appendonly = false;
  std::vector<std::string> extra_args;  // e.g. {"--maxmemory-policy", "allkeys-lru"}
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

  void kill();   // SIGKILL and reap: a crash, nothing saved beyond the AOF
  void start();  // (again) on the same port and dir; waits for PING
  bool running() const { return pid_ > 0; }

 private:
  RedisServerOptions options_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

// True when something on 127.0.0.1:port answers PING with +PONG.
bool redis_answers_ping(int port);

}  // namespace flashsale::test
