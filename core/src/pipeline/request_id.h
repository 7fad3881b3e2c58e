// Request ids are the only credential GET /result needs, so they must not be
// guessable: a UUID v4 (122 random bits) from the kernel's CSPRNG.
#pragma once

#include <string>

namespace flashsale {

std::string new_request_id();

}  // namespace flashsale
