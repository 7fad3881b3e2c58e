// An OrderEvent back from the fields of an outbox stream entry. lua/admit.lua
// writes two: request_id, for a reader of the stream or of its dead letters,
// and event, the whole OrderEvent in the wire form of flashsale/event_codec.h,
// which is what is decoded. One field costs Redis far less than six to append,
// hand out and trim. An entry without event is decoded from the six fields
// older versions append (request_id, user_id, product_id, quantity,
// unit_price, accepted_ms), so entries in flight across an upgrade are read.
#pragma once

#include <hiredis/hiredis.h>

#include <string>

#include "flashsale/types.h"

namespace flashsale::redis {

// Decodes the [field, value, ...] array of one entry. False with *why when
// event does not decode, or (without event) a field is missing or not a
// number: the entry is then dead-lettered.
bool decode_event(const redisReply* fields, OrderEvent* out, std::string* why);

}  // namespace flashsale::redis
