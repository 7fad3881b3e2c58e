// Decoding of outbox stream entries; see stream_entry.h.
#include "redis/stream_entry.h"

#include <limits>
#include <string_view>

#include "flashsale/event_codec.h"
#include "redis/connection.h"

namespace flashsale::redis {

namespace {

bool is_field_list(const redisReply* fields, std::string* why) {
  if (fields != nullptr && fields->type == REDIS_REPLY_ARRAY && fields->elements % 2 == 0) return true;
  *why = "entry has no field list";
  return false;
}

bool decode_field(const redisReply* value, std::size_t index, OrderEvent* out, std::string* why) {
  std::string error;
  if (::flashsale::decode_event(reply_text(value), out, &error)) return true;
  *why = (index == 0 ? "field event: " : "event field " + std::to_string(index + 1) + ": ") + error;
  return false;
}

// The six fields older versions append.
bool decode_six_fields(const redisReply* fields, OrderEvent* out, std::string* why) {
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

}  // namespace

bool decode_event(const redisReply* fields, OrderEvent* out, std::string* why) {
  if (!is_field_list(fields, why)) return false;
  for (std::size_t i = 0; i < fields->elements; i += 2) {
    if (reply_view(fields->element[i]) == "event") return decode_field(fields->element[i + 1], 0, out, why);
  }
  return decode_six_fields(fields, out, why);
}

bool decode_events(const redisReply* fields, std::vector<OrderEvent>* out, std::string* why) {
  if (!is_field_list(fields, why)) return false;
  std::vector<OrderEvent> events;
  for (std::size_t i = 0; i < fields->elements; i += 2) {
    if (reply_view(fields->element[i]) != "event") continue;
    if (events.size() == kMaxEventsPerEntry) {
      *why = "entry has more than " + std::to_string(kMaxEventsPerEntry) + " events";
      return false;
    }
    events.emplace_back();
    if (!decode_field(fields->element[i + 1], events.size() - 1, &events.back(), why)) return false;
  }
  if (events.empty()) {
    events.emplace_back();
    if (!decode_six_fields(fields, &events.back(), why)) return false;
  }
  for (OrderEvent& event : events) out->push_back(std::move(event));
  return true;
}

}  // namespace flashsale::redis
