// The database file this family keeps: how a connection to it is opened and
// tuned, and the tables and indexes it must hold. Both steps are idempotent, so
// every start and every new store runs them on whatever file db.path names.
// The layout is versioned (PRAGMA user_version) and is never converted: a file
// of another layout is refused, never misread.
#pragma once

#include <string>

#include <Poco/Data/Session.h>

namespace flashsale::sqlite {

// Opens (creating if missing) the SQLite file at path as a Poco session in WAL
// mode. Throws a Poco::Exception when the file cannot be opened or is not a
// database, or when WAL is not possible there (":memory:", say).
Poco::Data::Session open_connection(const std::string& path);

// Creates the tables of a new (empty) file and marks it with the schema
// version; checks the version of a file that has one. Throws a
// Poco::Exception, with one line that says what to do, for a file of another
// layout: an older one (no version), a newer one, or not ours at all.
void open_schema(Poco::Data::Session& session);

}  // namespace flashsale::sqlite
