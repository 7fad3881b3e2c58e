// Decoding of outbox stream entries; see stream_entry.h.
#include "redis/stream_entry.h"

#include <limits>
#include <string_view>

#include "flashsale/event_codec.h"
#include "redis/connection.h"

namespace flashsale::redis {

bool decode_event(const redisReply* fields, OrderEvent* out, std::string* why) {
  if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) {
    *why = "entry has no field list";
    return false;
  }
  for (std::size_t i = 0; i < fields->elements; i += 2) {
    if (reply_text(fields->element[i]) != "event") continue;
    std::string error;
    if (::flashsale::decode_event(reply_text(fields->element[i + 1]), out, &error)) return true;
    *why = "field event: " + error;
    return false;
  }
  OrderEvent event;
  std::int64_t quantity = 0;
  unsigned seen = 0;
  for (std::size_t i = 0; i < fields->elements; i += 2) {
    std::string name = reply_text(fields->element[i]);
    const redisReply* value = fields->element[i + 1];
    std::int64_t* number = nullptr;
    unsigned bit = 0;
    if (name == "request_id") {
      event.request_id = reply_text(value);
      seen |= 1;
      continue;
    }
    if (name == "user_id")
      number = &event.user_id, bit = 2;
    else if (name == "product_id")
      number = &event.product_id, bit = 4;
    else if (name == "quantity")
      number = &quantity, bit = 8;
    else if (name == "unit_price")
      number = &event.unit_price, bit = 16;
    else if (name == "accepted_ms")
      number = &event.accepted_ms, bit = 32;
    else
      continue;  // unknown fields are tolerated
    if (!reply_int(value, number)) {
      *why = "field " + name + " is not an integer";
      return false;
    }
    seen |= bit;
  }
  if (seen != 63 || event.request_id.empty()) {
    *why =
        "entry lacks one of request_id, user_id, product_id, quantity, "
        "unit_price, accepted_ms";
    return false;
  }
  if (quantity <= 0 || quantity > std::numeric_limits<std::int32_t>::max()) {
    *why = "quantity out of range";
    return false;
  }
  event.quantity = static_cast<std::int32_t>(quantity);
  *out = std::move(event);
  return true;
}

}  // namespace flashsale::redis
