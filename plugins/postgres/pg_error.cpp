#include "pg_error.h"

namespace flashsale::postgres {

namespace {

std::string trimmed(const char* text) {
  std::string line = text != nullptr ? text : "";
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value != nullptr ? value : "";
}

}  // namespace

PgError::Kind kind_of(const std::string& sqlstate) {
  using Kind = PgError::Kind;
  if (sqlstate == "40001" || sqlstate == "40P01") return Kind::retryable;
  std::string klass = sqlstate.substr(0, 2);
  // 08: connection exception. 57P01..57P03: the server is shutting down,
  // crashed, or not yet accepting connections; the session is over.
  if (klass == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return Kind::connection;
  // 57014: statement timeout (or a cancel). 55P03: lock not available.
  // 53: out of disk, memory or connections. 58: the server's I/O failed.
  // 25006: a read-only transaction, as on a standby during a failover.
  if (sqlstate == "57014" || sqlstate == "55P03" || klass == "53" || klass == "58" || sqlstate == "25006") {
    return Kind::unavailable;
  }
  return Kind::internal;
}

PgError error_of(const PGresult* result, PGconn* connection) {
  std::string sqlstate = field(result, PG_DIAG_SQLSTATE);
  std::string message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  if (message.empty()) message = trimmed(PQresultErrorMessage(result));
  if (sqlstate.empty()) {
    // libpq's own errors (the connection dropped mid-result) carry no SQLSTATE.
    if (PQstatus(connection) != CONNECTION_OK) return PgError(PgError::Kind::connection, "", message);
    return PgError(PgError::Kind::internal, "", message);
  }
  std::string detail;
  if (std::string table = field(result, PG_DIAG_TABLE_NAME); !table.empty()) detail += " table " + table;
  if (std::string constraint = field(result, PG_DIAG_CONSTRAINT_NAME); !constraint.empty()) {
    detail += " constraint " + constraint;
  }
  message += " (SQLSTATE " + sqlstate + (detail.empty() ? "" : "," + detail) + ")";
  PgError::Kind kind = kind_of(sqlstate);
  if (kind != PgError::Kind::connection && PQstatus(connection) != CONNECTION_OK) kind = PgError::Kind::connection;
  return PgError(kind, sqlstate, message);
}

PgError connection_error(PGconn* connection, const std::string& what) {
  std::string why = connection != nullptr ? trimmed(PQerrorMessage(connection)) : "out of memory";
  return PgError(PgError::Kind::connection, "", what + (why.empty() ? "" : ": " + why));
}

Status status_of(const char* operation, const PgError& error) noexcept {
  Code code = error.kind() == PgError::Kind::internal ? Code::internal : Code::unavailable;
  try {
    return Status(code, std::string("postgres ") + operation + ": " + error.what());
  } catch (...) {
    return Status(code, std::string());
  }
}

}  // namespace flashsale::postgres
