#include "pg_connection.h"

#include <poll.h>

#include <cerrno>
#include <charconv>

#include "pg_error.h"

namespace flashsale::postgres {

namespace {

// libpq prints notices (CREATE ... IF NOT EXISTS skipped, ...) on stderr by
// default; a plugin never writes there.
void ignore_notice(void*, const char*) {}

}  // namespace

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

std::string_view Result::text(int row, int column) const noexcept {
  if (PQgetisnull(result_, row, column)) return {};
  return {PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t Result::int64(int row, int column) const {
  std::string_view value = text(row, column);
  if (value.empty()) return 0;
  std::int64_t number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size()) {
    throw PgError(PgError::Kind::internal, "",
                  "column " + std::to_string(column) + " holds '" + std::string(value) + "', not an integer");
  }
  return number;
}

std::vector<std::int64_t> Result::int64_array(int row, int column) const {
  std::string_view text = this->text(row, column);
  std::vector<std::int64_t> values;
  if (text.empty()) return values;
  auto malformed = [&] {
    return PgError(PgError::Kind::internal, "",
                   "column " + std::to_string(column) + " holds '" + std::string(text) + "', not an int8[]");
  };
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') throw malformed();
  const char* at = text.data() + 1;
  const char* end = text.data() + text.size() - 1;
  while (at < end) {
    std::int64_t value = 0;
    auto [next, error] = std::from_chars(at, end, value);
    if (error != std::errc() || (next != end && *next != ',')) throw malformed();
    values.push_back(value);
    at = next == end ? end : next + 1;
  }
  return values;
}

std::int64_t Result::affected() const {
  const char* tuples = PQcmdTuples(result_);
  std::int64_t number = 0;
  std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), number);
  return number;
}

std::unique_ptr<Connection> Connection::open(const ConnectOptions& options) {
  // Keywords before dbname are defaults the DSN may override; dbname is
  // expanded (a connection string or URI).
  const char* keywords[] = {"connect_timeout", "application_name", "client_encoding", "dbname", nullptr};
  std::string connect_timeout = std::to_string(options.connect_timeout_s);
  const char* values[] = {connect_timeout.c_str(), "flashsale", "UTF8", options.dsn.c_str(), nullptr};
  PGconn* connection = PQconnectdbParams(keywords, values, 1);
  if (connection == nullptr || PQstatus(connection) != CONNECTION_OK) {
    PgError error = connection_error(connection, "cannot connect");
    PQfinish(connection);
    throw error;
  }
  PQsetNoticeProcessor(connection, &ignore_notice, nullptr);
  std::unique_ptr<Connection> opened(new Connection(connection, options.statement_timeout + options.answer_slack));
  if (PQsetnonblocking(connection, 1) != 0) opened->fail("cannot make the socket non-blocking");
  // Every statement, lock waits included, gives up after the timeout
  // (SQLSTATE 57014, answered as unavailable) instead of holding a caller.
  Statement set_timeout{"", "SET statement_timeout = " + std::to_string(options.statement_timeout.count())};
  // A prepared statement's generic plan is made once, after five runs, from
  // the statistics of that moment: on a fresh database that is an empty
  // orders table, and the outcome read of every later batch became a
  // sequential scan until autoanalyze ran. Planning each run with its values
  // costs far less than that.
  Statement custom_plans{"", "SET plan_cache_mode = force_custom_plan"};
  opened->run({{&set_timeout, {}}, {&custom_plans, {}}});
  return opened;
}

Connection::Connection(PGconn* connection, std::chrono::milliseconds answer_timeout)
    : connection_(connection), answer_timeout_(answer_timeout) {}

Connection::~Connection() {
  PQfinish(connection_);
}

bool Connection::in_transaction() const noexcept {
  return PQtransactionStatus(connection_) != PQTRANS_IDLE;
}

bool Connection::usable() {
  if (broken_ || PQstatus(connection_) != CONNECTION_OK) return false;
  pollfd descriptor{PQsocket(connection_), POLLIN, 0};
  // Nothing is due on an idle connection: anything readable is the server
  // closing it (or an error it sent before it did).
  if (::poll(&descriptor, 1, 0) != 0) broken_ = true;
  return !broken_;
}

void Connection::rollback() noexcept {
  if (broken_) return;
  PGTransactionStatusType state = PQtransactionStatus(connection_);
  if (state == PQTRANS_IDLE) return;
  if (state != PQTRANS_INTRANS && state != PQTRANS_INERROR) {
    broken_ = true;  // mid-command or unknown: only closing it is safe
    return;
  }
  static const Statement kRollback{"", "ROLLBACK"};
  try {
    run({{&kRollback, {}}});
  } catch (...) {
    broken_ = true;
  }
}

void Connection::fail(const std::string& what) {
  broken_ = true;
  throw connection_error(connection_, what);
}

void Connection::wait_for(short events) {
  pollfd descriptor{PQsocket(connection_), events, 0};
  int ready = 0;
  do {
    ready = ::poll(&descriptor, 1, static_cast<int>(answer_timeout_.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    broken_ = true;
    throw PgError(PgError::Kind::connection, "",
                  "no answer from the server for " + std::to_string(answer_timeout_.count()) + " ms");
  }
  if (ready < 0) fail("poll failed");
}

void Connection::flush() {
  // While our output waits for room, the server may be blocked writing
  // results: read them into libpq's buffer meanwhile (no deadlock).
  for (;;) {
    int pending = PQflush(connection_);
    if (pending == 0) return;
    if (pending < 0) fail("cannot send");
    wait_for(POLLIN | POLLOUT);
    if (PQconsumeInput(connection_) == 0) fail("cannot read");
  }
}

PGresult* Connection::next_result() {
  while (PQisBusy(connection_)) {
    wait_for(POLLIN);
    if (PQconsumeInput(connection_) == 0) fail("lost the connection");
  }
  return PQgetResult(connection_);
}

std::vector<Result> Connection::run(const std::vector<Query>& queries) {
  if (broken_) throw PgError(PgError::Kind::connection, "", "the connection is closed");
  if (PQenterPipelineMode(connection_) != 1) fail("cannot enter pipeline mode");
  struct Expected {
    const Statement* statement;
    bool prepare;  // the answer to preparing it, not to running it
  };
  std::vector<Expected> expected;
  std::set<std::string_view> preparing;  // a statement twice in one pipeline is prepared once
  std::vector<const char*> values;
  for (const Query& query : queries) {
    const Statement& statement = *query.statement;
    int count = static_cast<int>(query.params.size());
    values.clear();
    for (const std::string& value : query.params) values.push_back(value.c_str());
    bool sent = false;
    if (statement.name.empty()) {
      sent = PQsendQueryParams(connection_, statement.sql.c_str(), count, nullptr, values.data(), nullptr, nullptr, 0);
    } else {
      if (prepared_.count(statement.name) == 0 && preparing.insert(statement.name).second) {
        if (!PQsendPrepare(connection_, statement.name.c_str(), statement.sql.c_str(), count, nullptr)) {
          fail("cannot send");
        }
        expected.push_back({&statement, true});
      }
      sent = PQsendQueryPrepared(connection_, statement.name.c_str(), count, values.data(), nullptr, nullptr, 0);
    }
    if (!sent) fail("cannot send");
    expected.push_back({&statement, false});
  }
  if (PQpipelineSync(connection_) != 1) fail("cannot send");
  flush();

  std::vector<Result> results;
  results.reserve(queries.size());
  std::unique_ptr<PgError> first_error;
  for (const Expected& item : expected) {
    PGresult* answer = next_result();
    if (answer == nullptr) fail("the server answered fewer statements than were sent");
    Result result(answer);
    switch (PQresultStatus(answer)) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
        if (item.prepare) {
          prepared_.insert(item.statement->name);
        } else {
          results.push_back(std::move(result));
        }
        break;
      case PGRES_PIPELINE_ABORTED:  // after an earlier failure: did not run
        break;
      case PGRES_FATAL_ERROR:
        if (first_error == nullptr) first_error = std::make_unique<PgError>(error_of(answer, connection_));
        break;
      default:
        if (first_error == nullptr) {
          first_error = std::make_unique<PgError>(
              PgError::Kind::internal, "", std::string("unexpected answer ") + PQresStatus(PQresultStatus(answer)));
        }
    }
    if (PQstatus(connection_) != CONNECTION_OK) {
      broken_ = true;
      if (first_error == nullptr) throw connection_error(connection_, "lost the connection");
      throw PgError(PgError::Kind::connection, first_error->sqlstate(), first_error->what());
    }
    if (PGresult* extra = next_result(); extra != nullptr) {  // each statement's answers end with a null
      PQclear(extra);
      fail("more than one answer to a statement");
    }
  }
  Result sync(next_result());
  if (PQresultStatus(sync.raw()) != PGRES_PIPELINE_SYNC) fail("the pipeline did not end where it was synced");
  if (PQexitPipelineMode(connection_) != 1) fail("cannot leave pipeline mode");
  if (first_error != nullptr) throw *first_error;
  return results;
}

std::string param(std::int64_t value) {
  return std::to_string(value);
}

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string text;
  text.reserve(2 + values.size() * 21);  // 20 characters hold any int64, and a comma
  text += '{';
  char digits[24];
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) text += ',';
    text.append(digits, std::to_chars(digits, digits + sizeof digits, values[i]).ptr);
  }
  text += '}';
  return text;
}

std::string text_array(const std::vector<std::string_view>& values) {
  std::size_t size = 2;
  for (std::string_view value : values) size += value.size() + 3;
  std::string text;
  text.reserve(size);
  text += '{';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) text += ',';
    text += '"';
    std::string_view rest = values[i];
    for (std::size_t special; (special = rest.find_first_of("\"\\")) != std::string_view::npos;) {
      text.append(rest.substr(0, special)) += '\\';
      text += rest[special];
      rest.remove_prefix(special + 1);
    }
    text.append(rest) += '"';
  }
  text += '}';
  return text;
}

}  // namespace flashsale::postgres
