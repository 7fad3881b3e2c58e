// What the postgres persist benchmarks share: the server they need, named by
// POSTGRES_DSN (bench/e2e/run_bench.py starts a throwaway one and sets it),
// and a fresh schema on it per run, so each run writes into empty tables the
// way the sqlite pair writes into a fresh file.
#pragma once

#include <string>

#include <libpq-fe.h>

namespace flashsale::bench {

// POSTGRES_DSN, or nullptr when it is unset or empty. The first call without
// it prints, once, that the postgres benchmarks are skipped.
const char* postgres_dsn();

// A new, empty schema on POSTGRES_DSN's database, dropped (CASCADE) on
// destruction. dsn() is POSTGRES_DSN with the schema first on search_path, so
// everything the plugin lays out lands in it.
class ScratchSchema {
 public:
  ScratchSchema();
  ~ScratchSchema();
  ScratchSchema(const ScratchSchema&) = delete;
  ScratchSchema& operator=(const ScratchSchema&) = delete;

  const std::string& dsn() const { return dsn_; }
  // A CHECKPOINT, best effort (it needs superuser or pg_checkpoint): asked
  // for before a run's timing starts, so no run starts with an earlier run's
  // dirty pages still to be written.
  void checkpoint();

 private:
  std::string name_;
  std::string dsn_;
};

// Connects to `dsn`; throws std::runtime_error with libpq's message when it cannot.
PGconn* connect_or_throw(const std::string& dsn);
// Runs a statement without parameters; throws std::runtime_error on failure.
void exec_or_throw(PGconn* connection, const std::string& sql);

}  // namespace flashsale::bench
