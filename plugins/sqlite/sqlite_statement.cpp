#include "sqlite_statement.h"

#include <sqlite3.h>

#include "sqlite_error.h"

namespace flashsale::sqlite {

namespace {

void check_bind(sqlite3* db, int rc) {
  if (rc != SQLITE_OK) throw_sqlite_error(db, rc);
}

void execute(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_sqlite_error(db, rc);
}

}  // namespace

PreparedStatement::PreparedStatement(sqlite3* db, const char* sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite_error(db, rc);
}

PreparedStatement::~PreparedStatement() {
  sqlite3_finalize(statement_);
}

StatementRun PreparedStatement::run() noexcept {
  return StatementRun(*this);
}

StatementRun::~StatementRun() {
  sqlite3_reset(statement_.statement_);
  sqlite3_clear_bindings(statement_.statement_);
}

void StatementRun::bind(int index, std::string_view value) {
  // A null pointer would bind SQL NULL, not an empty string.
  const char* text = value.data() != nullptr ? value.data() : "";
  check_bind(statement_.db_,
             sqlite3_bind_text64(statement_.statement_, index, text, value.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void StatementRun::bind_blob(int index, const void* bytes, std::size_t size) {
  check_bind(statement_.db_, sqlite3_bind_blob64(statement_.statement_, index, bytes, size, SQLITE_STATIC));
}

void StatementRun::bind(int index, std::int64_t value) {
  check_bind(statement_.db_, sqlite3_bind_int64(statement_.statement_, index, value));
}

void StatementRun::bind_null(int index) {
  check_bind(statement_.db_, sqlite3_bind_null(statement_.statement_, index));
}

bool StatementRun::next_row() {
  int rc = sqlite3_step(statement_.statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite_error(statement_.db_, rc);
}

std::int64_t StatementRun::int64_column(int column) const {
  return sqlite3_column_int64(statement_.statement_, column);
}

std::int64_t StatementRun::changes() const {
  return sqlite3_changes64(statement_.db_);
}

std::int64_t StatementRun::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(statement_.db_);
}

std::string StatementRun::text_column(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_.statement_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(statement_.statement_, column)));
}

WriteTransaction::WriteTransaction(sqlite3* db) : db_(db) {
  execute(db_, "BEGIN IMMEDIATE");
}

WriteTransaction::~WriteTransaction() {
  // SQLite may already have rolled back on its own (after SQLITE_FULL, say).
  if (!committed_ && sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTransaction::commit() {
  execute(db_, "COMMIT");
  committed_ = true;
}

}  // namespace flashsale::sqlite
