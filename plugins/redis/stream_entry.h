// OrderEvents back from the fields of an outbox stream entry. lua/admit.lua
// appends one entry per call that accepted anyone: an `event` field per
// accepted buyer, in order, each the whole OrderEvent in the wire form of
// flashsale/event_codec.h. One entry for a batch costs Redis far less than
// an entry per buyer to append, hand out, acknowledge and trim. An entry
// without event is decoded from the six fields older versions append
// (request_id, user_id, product_id, quantity, unit_price, accepted_ms), so
// entries in flight across an upgrade are read.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <string>
#include <vector>

#include "flashsale/types.h"

namespace flashsale::redis {

// The most events one entry may carry (admit.lua's batches carry fewer).
inline constexpr std::size_t kMaxEventsPerEntry = 64;

// Decodes the [field, value, ...] array of one entry: its first event (a dead
// letter carries one, behind fields of its own). False with *why when it does
// not decode, or (without event) a field is missing or not a number.
bool decode_event(const redisReply* fields, OrderEvent* out, std::string* why);

// Every event of one entry, in order. False with *why when any does not
// decode, or there are more than kMaxEventsPerEntry: the entry is then
// dead-lettered.
bool decode_events(const redisReply* fields, std::vector<OrderEvent>* out, std::string* why);

}  // namespace flashsale::redis
