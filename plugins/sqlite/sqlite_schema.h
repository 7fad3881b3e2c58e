// The database file this family keeps: how a connection to it is opened and
// tuned, and the tables and indexes it must hold. Both steps are idempotent, so
// every start and every new store runs them on whatever file db.path names.
#pragma once

#include <string>

#include <Poco/Data/Session.h>

namespace flashsale::sqlite {

// Opens (creating if missing) the SQLite file at path as a Poco session in WAL
// mode. Throws a Poco::Exception when the file cannot be opened or is not a
// database, or when WAL is not possible there (":memory:", say).
Poco::Data::Session open_connection(const std::string& path);

// Creates the products, orders and order_requests tables and their indexes
// where missing. Throws a Poco::Exception.
void create_schema(Poco::Data::Session& session);

}  // namespace flashsale::sqlite
