#include "postgres_scratch.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace flashsale::bench {

namespace {

// A libpq connection string value, single-quoted.
std::string quoted(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// `dsn` (a connection string or URI) as a key=value string whose `options`
// also put `schema` first on search_path.
std::string with_search_path(const std::string& dsn, const std::string& schema) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    throw std::runtime_error("POSTGRES_DSN: " + message);
  }
  std::string out;
  std::string options;
  for (PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    if (std::string(option->keyword) == "options") {
      options = option->val;
      continue;
    }
    out += std::string(option->keyword) + "=" + quoted(option->val) + " ";
  }
  PQconninfoFree(parsed);
  options += (options.empty() ? "" : " ") + std::string("-c search_path=") + schema;
  return out + "options=" + quoted(options);
}

}  // namespace

const char* postgres_dsn() {
  const char* dsn = std::getenv("POSTGRES_DSN");
  if (dsn != nullptr && *dsn != '\0') return dsn;
  static const bool said = [] {
    std::fprintf(stderr,
                 "flashsale-microbench: POSTGRES_DSN is not set: skipping persist/postgres_plugin and "
                 "persist/raw_postgres_baseline (they need a PostgreSQL server; bench/e2e/run_bench.py starts one)\n");
    return true;
  }();
  (void)said;
  return nullptr;
}

PGconn* connect_or_throw(const std::string& dsn) {
  PGconn* connection = PQconnectdb(dsn.c_str());
  if (connection == nullptr || PQstatus(connection) != CONNECTION_OK) {
    std::string message = connection != nullptr ? PQerrorMessage(connection) : "out of memory";
    PQfinish(connection);
    throw std::runtime_error("cannot connect to PostgreSQL: " + message);
  }
  return connection;
}

void exec_or_throw(PGconn* connection, const std::string& sql) {
  PGresult* result = PQexec(connection, sql.c_str());
  ExecStatusType status = PQresultStatus(result);
  PQclear(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQerrorMessage(connection));
  }
}

ScratchSchema::ScratchSchema() {
  static std::atomic<int> next{1};
  const char* dsn = postgres_dsn();
  if (dsn == nullptr) throw std::runtime_error("POSTGRES_DSN is not set");
  name_ = "flashsale_bench_" + std::to_string(getpid()) + "_" + std::to_string(next++);
  PGconn* connection = connect_or_throw(dsn);
  try {
    exec_or_throw(connection, "SET client_min_messages = warning");
    exec_or_throw(connection, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    exec_or_throw(connection, "CREATE SCHEMA " + name_);
  } catch (...) {
    PQfinish(connection);
    throw;
  }
  PQfinish(connection);
  dsn_ = with_search_path(dsn, name_);
}

ScratchSchema::~ScratchSchema() {
  PGconn* connection = PQconnectdb(postgres_dsn());
  if (PQstatus(connection) == CONNECTION_OK) {
    PQclear(PQexec(connection, "SET client_min_messages = warning"));
    PQclear(PQexec(connection, ("DROP SCHEMA IF EXISTS " + name_ + " CASCADE").c_str()));
  }
  PQfinish(connection);
}

void ScratchSchema::checkpoint() {
  PGconn* connection = PQconnectdb(dsn_.c_str());
  if (PQstatus(connection) == CONNECTION_OK) PQclear(PQexec(connection, "CHECKPOINT"));
  PQfinish(connection);
}

}  // namespace flashsale::bench
