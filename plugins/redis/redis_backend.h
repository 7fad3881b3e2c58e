// The redis family's Backend: reads the settings once, checks the server
// (startup_check.cpp) and owns the RedisContext the stages share.
#pragma once

#include <string>

#include "flashsale/plugin.h"

namespace flashsale::redis {

// nullptr with a one-line *error (naming the key or redis.addr) when the
// settings are unusable or Redis is unreachable or unsafe.
Backend* make_backend(const Settings& settings, const HostServices&, std::string* error) noexcept;

}  // namespace flashsale::redis
