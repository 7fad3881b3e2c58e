// An OrderEvent as the fields of an outbox stream entry (written by
// lua/admit.lua's XADD: request_id, user_id, product_id, quantity,
// unit_price, accepted_ms), and back.
#pragma once

#include <hiredis/hiredis.h>

#include <string>

#include "flashsale/types.h"

namespace flashsale::redis {

// Decodes the [field, value, ...] array of one entry. False with *why when a
// field is missing or not a number (the entry is then dead-lettered).
bool decode_event(const redisReply* fields, OrderEvent* out, std::string* why);

}  // namespace flashsale::redis
