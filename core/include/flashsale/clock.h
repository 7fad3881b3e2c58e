// Wall-clock time in UTC milliseconds, and its RFC 3339 wire form.
#pragma once

#include <string>
#include <string_view>

#include "flashsale/types.h"

namespace flashsale {

UnixMillis now_ms() noexcept;

// Accepts "2026-01-01T10:00:00Z", with optional fraction ("...00.250Z") and a
// numeric offset ("+08:00") instead of Z. Returns false on anything else.
bool parse_rfc3339(std::string_view text, UnixMillis* out) noexcept;

// "2026-01-01T10:00:00Z", or "2026-01-01T10:00:00.250Z" when ms != 0.
std::string format_rfc3339(UnixMillis ms);

}  // namespace flashsale
