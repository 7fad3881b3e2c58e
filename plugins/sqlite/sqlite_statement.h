// The persist path runs the same few statements for every event, tens of
// thousands of times a second. Poco::Data 1.11 compiles a Statement's SQL again
// (sqlite3_prepare_v2) on every execute(), even a Statement kept and reused, so
// the hot statements are compiled once here with the SQLite C API, on the
// connection of the writer's Poco session, and kept for the life of the store.
// Errors are thrown as the same Poco::Data::SQLite exceptions Poco throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace flashsale::sqlite {

class StatementRun;

class PreparedStatement {
 public:
  // Compiles sql on db; throws on bad SQL. db must outlive the statement.
  PreparedStatement(sqlite3* db, const char* sql);
  ~PreparedStatement();
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  // One execution. Only one run of a statement may be alive at a time.
  StatementRun run() noexcept;

 private:
  friend class StatementRun;
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

// One execution of a PreparedStatement: bind parameters (from 1), step through
// the rows, read columns (from 0). Its end resets the statement and clears the
// bindings, so the compiled plan is ready for the next run and no text bound
// without a copy is referred to afterwards.
class StatementRun {
 public:
  explicit StatementRun(PreparedStatement& statement) noexcept : statement_(statement) {}
  ~StatementRun();
  StatementRun(const StatementRun&) = delete;
  StatementRun& operator=(const StatementRun&) = delete;

  // Text and bytes are not copied: they must outlive this run.
  void bind(int index, std::string_view value);
  void bind_blob(int index, const void* bytes, std::size_t size);
  void bind(int index, std::int64_t value);
  void bind_null(int index);

  // True when a row is ready to read, false when the statement is done.
  bool next_row();

  std::int64_t int64_column(int column) const;

  // After next_row() returned false for an INSERT: the rows it inserted (0 when
  // ON CONFLICT DO NOTHING skipped the row) and the rowid of the last one.
  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;
  std::string text_column(int column) const;

 private:
  PreparedStatement& statement_;
};

// A write transaction on db: BEGIN IMMEDIATE takes the write lock up front, so
// another writer on the file makes us wait (busy_timeout) here rather than fail
// half-way when a read would upgrade to a write. Rolled back when destroyed
// without commit().
class WriteTransaction {
 public:
  explicit WriteTransaction(sqlite3* db);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  void commit();

 private:
  sqlite3* db_;
  bool committed_ = false;
};

}  // namespace flashsale::sqlite
