// One libpq connection, and the one way this family talks over it: a list of
// statements sent as a pipeline (libpq's pipeline mode, PostgreSQL 14+) and
// answered in one round trip. A statement with a name is prepared on a
// connection the first time it runs there, in the same pipeline; one without
// (BEGIN, COMMIT) is sent as is. Parameters and results travel as text.
//
// The socket is non-blocking and every wait is a poll() with a deadline, so a
// server that stops answering (a dead host, a partition) costs a wait at most
// statement timeout + answer slack, then the connection counts as broken.
// Not thread-safe: one caller at a time (the pool hands it out).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

namespace flashsale::postgres {

struct ConnectOptions {
  std::string dsn;  // a libpq connection string or URI
  std::chrono::milliseconds statement_timeout{5000};
  int connect_timeout_s = 5;  // unless the DSN sets connect_timeout
  // How much longer than the statement timeout an answer may take before
  // the connection counts as broken.
  std::chrono::milliseconds answer_slack{2000};
};

// A statement of the family's. name empty: not prepared (BEGIN, COMMIT).
struct Statement {
  std::string name;
  std::string sql;
};

// A statement with its parameters as text ($1, $2, ... in order).
struct Query {
  const Statement* statement;
  std::vector<std::string> params;
};

// The rows (or the command tag) one statement answered; owns its PGresult.
class Result {
 public:
  explicit Result(PGresult* result) noexcept : result_(result) {}
  Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() { PQclear(result_); }

  int rows() const noexcept { return PQntuples(result_); }
  std::string_view text(int row, int column) const noexcept;  // "" for NULL
  bool null(int row, int column) const noexcept { return PQgetisnull(result_, row, column) != 0; }
  std::int64_t int64(int row, int column) const;  // 0 for NULL; throws PgError on non-numbers
  // An int8[] without NULLs ({} for NULL); throws PgError on anything else.
  std::vector<std::int64_t> int64_array(int row, int column) const;
  bool boolean(int row, int column) const noexcept { return text(row, column) == "t"; }
  std::int64_t affected() const;  // rows an INSERT, UPDATE or DELETE changed
  const PGresult* raw() const noexcept { return result_; }

 private:
  PGresult* result_;
};

class Connection {
 public:
  // Connects, sets the statement timeout; throws PgError (connection) when it
  // cannot.
  static std::unique_ptr<Connection> open(const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs the queries as one pipeline and returns one Result each. Throws the
  // PgError of the first statement that failed (the ones after it did not
  // run; an open transaction is then aborted and wants a ROLLBACK).
  std::vector<Result> run(const std::vector<Query>& queries);

  // False once the connection failed, or when the server has said anything
  // while it sat idle (the goodbye of a server shutting down, the end of the
  // stream): such a connection is not used again.
  bool usable();
  bool broken() const noexcept { return broken_; }
  bool in_transaction() const noexcept;

  // Ends an open transaction with ROLLBACK; on failure the connection is
  // broken. Never throws.
  void rollback() noexcept;

 private:
  Connection(PGconn* connection, std::chrono::milliseconds answer_timeout);

  [[noreturn]] void fail(const std::string& what);  // marks broken, throws a connection PgError
  void flush();
  PGresult* next_result();
  void wait_for(short events);  // poll for events until the deadline of one answer

  PGconn* connection_;
  std::chrono::milliseconds answer_timeout_;
  std::set<std::string> prepared_;
  bool broken_ = false;
};

// A parameter in text form.
std::string param(std::int64_t value);
// The text form of arrays, for $n::int8[] / $n::int4[] / $n::text[].
std::string int_array(const std::vector<std::int64_t>& values);
std::string text_array(const std::vector<std::string_view>& values);

}  // namespace flashsale::postgres
