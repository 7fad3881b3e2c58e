// How failures leave this family. SQLite and Poco::Data report errors by
// throwing; the stage interfaces return Status and never throw (plugin.h). So
// every entry point runs its body through guarded(), which turns whatever was
// thrown into one Status.
#pragma once

#include <exception>
#include <string>

#include "flashsale/status.h"

struct sqlite3;

namespace flashsale::sqlite {

// The one-line text of an exception. Poco's what() is only the exception's
// name ("SQLite exception"); its displayText() carries SQLite's message.
std::string describe(const std::exception& error);

// unavailable for what the environment does and may undo (a lock held too
// long, a full or read-only disk, an I/O error, a lost file); internal for the
// rest (a broken schema, SQL that no longer compiles, a bug, or error ==
// nullptr: something not an exception). Without memory for the message, the
// same code with none.
Status storage_status(const char* operation, const std::exception* error) noexcept;

template <typename Body>
Status guarded(const char* operation, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& error) {
    return storage_status(operation, &error);
  } catch (...) {
    return storage_status(operation, nullptr);
  }
}

// Throws the Poco::Data::SQLite exception that matches rc, with SQLite's
// message, so errors from the C API and from Poco statements look the same.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc);

}  // namespace flashsale::sqlite
