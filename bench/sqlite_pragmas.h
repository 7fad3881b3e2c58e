// The PRAGMAs the sqlite plugin sets on its connections
// (plugins/sqlite/sqlite_schema.cpp), for the baselines that write the same
// file through the C API: the raw persist micro-benchmark and the embedded
// ceiling server. Keep them in step with the plugin.
#pragma once

namespace flashsale::bench {

inline constexpr const char* kPluginPragmas[] = {
    "PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
    "PRAGMA cache_size = -32768", "PRAGMA wal_autocheckpoint = 10000"};

}  // namespace flashsale::bench
