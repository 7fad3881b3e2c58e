// The wire form of an OrderEvent wherever it leaves the process (a Kafka
// message, a stream entry): one flat JSON object, readable with kcat or
// redis-cli, e.g.
//   {"v":1,"request_id":"…","user_id":7,"product_id":1,"quantity":1,"unit_price":399900,"accepted_ms":1767261600000}
#pragma once

#include <string>
#include <string_view>

#include "flashsale/types.h"

namespace flashsale {

std::string encode_event(const OrderEvent& event);

// Strict: every field present with the right type, nothing else, version 1.
// On failure returns false and says why in *error.
bool decode_event(std::string_view text, OrderEvent* event, std::string* error);

}  // namespace flashsale
