// The keys the sqlite family reads, as its descriptor declares them: the one
// place their defaults, ranges and help live.
#pragma once

#include <iterator>

#include "flashsale/settings.h"

namespace flashsale::sqlite::setting {

inline constexpr SettingSpec kPath = SettingSpec::required("db.path", "flash_sale.db", "SQLite database file");
// 16 MiB of 4 KiB pages.
inline constexpr SettingSpec kCheckpointPages = SettingSpec::integer(
    "db.checkpoint.pages", "4000", 1, 1'000'000, "WAL pages at which the background checkpointer copies the log back");

inline constexpr SettingSpec kAll[] = {kPath, kCheckpointPages};
inline constexpr std::size_t kCount = std::size(kAll);

}  // namespace flashsale::sqlite::setting
