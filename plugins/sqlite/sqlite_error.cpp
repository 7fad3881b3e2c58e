#include "sqlite_error.h"

#include <sqlite3.h>

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>

namespace flashsale::sqlite {

std::string describe(const std::exception& error) {
  if (const auto* poco = dynamic_cast<const Poco::Exception*>(&error)) return poco->displayText();
  return error.what();
}

namespace {

bool may_pass(const std::exception& error) {
  namespace db = Poco::Data::SQLite;
  return dynamic_cast<const db::DBLockedException*>(&error) != nullptr ||
         dynamic_cast<const db::TableLockedException*>(&error) != nullptr ||
         dynamic_cast<const db::IOErrorException*>(&error) != nullptr ||
         dynamic_cast<const db::DatabaseFullException*>(&error) != nullptr ||
         dynamic_cast<const db::ReadOnlyException*>(&error) != nullptr ||
         dynamic_cast<const db::CantOpenDBFileException*>(&error) != nullptr ||
         dynamic_cast<const db::LockProtocolException*>(&error) != nullptr ||
         dynamic_cast<const db::NoMemoryException*>(&error) != nullptr ||
         dynamic_cast<const Poco::Data::ConnectionFailedException*>(&error) != nullptr ||
         dynamic_cast<const Poco::Data::NotConnectedException*>(&error) != nullptr;
}

}  // namespace

Status storage_status(const char* operation, const std::exception* error) noexcept {
  Code code = error != nullptr && may_pass(*error) ? Code::unavailable : Code::internal;
  try {
    return Status(code, std::string("sqlite ") + operation + ": " +
                            (error != nullptr ? describe(*error) : std::string("unknown exception")));
  } catch (...) {
    return Status(code, std::string());
  }
}

void throw_sqlite_error(sqlite3* db, int rc) {
  // Poco maps primary result codes; an extended code (SQLITE_CONSTRAINT_TRIGGER)
  // would fall into its "unknown error" branch.
  Poco::Data::SQLite::Utility::throwException(db, rc & 0xff);
  throw Poco::Data::SQLite::SQLiteException("result code " + std::to_string(rc));  // rc was SQLITE_OK
}

}  // namespace flashsale::sqlite
