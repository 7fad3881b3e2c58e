// Request ids are the only credential GET /result needs, so they must not be
// guessable: a UUID v7 (RFC 9562) whose 74 random bits come from the kernel's
// CSPRNG. Its first 48 bits are the creation time in unix milliseconds, so ids
// made later sort later: the persist store's unique index on request_id then
// grows at its right edge instead of being written at random pages. The time
// an id reveals is its own admission time, which its holder knows anyway.
#pragma once

#include <string>

namespace flashsale {

std::string new_request_id();

}  // namespace flashsale
