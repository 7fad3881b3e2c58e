// Reads a SQLite file directly (the sqlite3 C API, independent of the plugin
// under test) so tests can check what was really written.
#pragma once

#include <cstdint>
#include <string>

namespace flashsale::test {

// The first column of the first row of `sql` as an integer (0 if no row).
std::int64_t sqlite_scalar(const std::string& path, const std::string& sql);

}  // namespace flashsale::test
