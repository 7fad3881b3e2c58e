// How failures leave this family. libpq reports an error as a result status
// and an SQLSTATE; the family turns each into a PgError (thrown inside the
// plugin only) of one of four kinds, and every stage method turns a PgError
// into one Status at its entry point (store_call.h): nothing throws across the
// plugin boundary.
#pragma once

#include <stdexcept>
#include <string>

#include <libpq-fe.h>

#include "flashsale/status.h"

namespace flashsale::postgres {

class PgError : public std::runtime_error {
 public:
  enum class Kind {
    connection,   // the connection is gone or unusable (server down, restarted, network): unavailable
    retryable,    // serialization_failure (40001) or deadlock_detected (40P01): run the transaction again
    unavailable,  // the server refuses for now (statement timeout, out of resources, shutting down)
    internal,     // anything else: a constraint this family does not expect, SQL that no longer fits the schema
  };

  PgError(Kind kind, std::string sqlstate, const std::string& message)
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}

  Kind kind() const noexcept { return kind_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  Kind kind_;
  std::string sqlstate_;
};

// The kind of an SQLSTATE ("23505", "40P01", ...).
PgError::Kind kind_of(const std::string& sqlstate);

// The error a failed result reports: its SQLSTATE, primary message and, for
// a constraint violation, the table and constraint. A result without an
// SQLSTATE on a broken connection is a connection error.
PgError error_of(const PGresult* result, PGconn* connection);

// The connection failed while doing `what`; PQerrorMessage says why.
PgError connection_error(PGconn* connection, const std::string& what);

// The Status for a PgError out of `operation` ("persist"): unavailable for
// connection, retryable (retries exhausted) and unavailable kinds, internal
// otherwise; the message names the family and the operation.
Status status_of(const char* operation, const PgError& error) noexcept;

}  // namespace flashsale::postgres
