// A real PostgreSQL server for tests: a fresh cluster (initdb, trust auth,
// superuser `flashsale`, fsync off) in its own temp dir, listening on a free
// loopback port and on a Unix socket in that dir, ready once it reports so in
// postmaster.pid. Stopped on destruction, pass or fail; it can be stopped and
// started again on the same port and data, to test outages and restarts.
//
// PostgreSQL refuses to run as root: run by root, the helper drops to the
// `postgres` user (Debian's postgresql package creates it) in the child it
// execs initdb and the server from, and hands that user the temp dir; every
// folder above it must be traversable by others (/tmp is).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace flashsale::test {

struct PostgresServerOptions {
  std::vector<std::string> settings;  // more server settings, e.g. {"deadlock_timeout=500ms"}
};

class PostgresServer {
 public:
  explicit PostgresServer(PostgresServerOptions options = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // A libpq URI for `database` as user flashsale; initdb makes "postgres".
  std::string dsn(const std::string& database = "postgres") const;

  // A fast shutdown, as `pg_ctl stop` does by default: sessions are ended,
  // a checkpoint written, and the call returns once the server has exited.
  void stop();
  void start();  // (again) on the same port and data; returns once it accepts connections
  bool running() const { return pid_ > 0; }

 private:
  PostgresServerOptions options_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The first column of the first row of `sql` on `dsn` as an integer; fails
// the test (throws) when the query does not run.
long long postgres_scalar(const std::string& dsn, const std::string& sql);

// Where Debian's postgresql-15 puts initdb and postgres (PG_BINDIR overrides).
std::string postgres_bin_dir();

}  // namespace flashsale::test
