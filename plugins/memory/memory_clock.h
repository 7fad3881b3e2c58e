// The memory family reads wall-clock time through a Clock so that its own
// tests can move time forward (state TTLs, stock TTLs, idle rate-limit
// subjects, sale windows) without sleeping. The plugin passes now_ms.
#pragma once

#include <functional>

#include "flashsale/types.h"

namespace flashsale::memory {

using Clock = std::function<UnixMillis()>;

}  // namespace flashsale::memory
