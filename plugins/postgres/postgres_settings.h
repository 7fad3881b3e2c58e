// The keys the postgres family reads, as its descriptor declares them: the
// one place their defaults, ranges and help live.
#pragma once

#include <iterator>

#include "flashsale/settings.h"

namespace flashsale::postgres::setting {

inline constexpr SettingSpec kDsn =
    SettingSpec::required("postgres.dsn", "postgresql://localhost/flashsale",
                          "PostgreSQL database of the persist stage: a libpq connection string or URI");
inline constexpr SettingSpec kPoolSize =
    SettingSpec::integer("postgres.pool.size", "4", 1, 1024, "PostgreSQL connections a process opens at most");
inline constexpr SettingSpec kStatementTimeout = SettingSpec::integer(
    "postgres.statement.timeout.ms", "5000", 1, 3'600'000,
    "longest a PostgreSQL statement may run, lock waits included, before the call is unavailable, ms");

inline constexpr SettingSpec kAll[] = {kDsn, kPoolSize, kStatementTimeout};
inline constexpr std::size_t kCount = std::size(kAll);

}  // namespace flashsale::postgres::setting
