#include <catch2/catch.hpp>

#include "flashsale/event_codec.h"

using flashsale::decode_event;
using flashsale::encode_event;
using flashsale::OrderEvent;

TEST_CASE("events round-trip through their wire form", "[event_codec]") {
  OrderEvent event{"6f1c0c9e-3b0a-4d5e-9a51-0f6a1c2d3e4f", 10001, 7, 2, 399900, 1767261600250};
  std::string wire = encode_event(event);
  OrderEvent back;
  std::string error;
  REQUIRE(decode_event(wire, &back, &error));
  CHECK(back.request_id == event.request_id);
  CHECK(back.user_id == 10001);
  CHECK(back.product_id == 7);
  CHECK(back.quantity == 2);
  CHECK(back.unit_price == 399900);
  CHECK(back.accepted_ms == 1767261600250);
}

TEST_CASE("anything but a well-formed version 1 event is refused", "[event_codec]") {
  OrderEvent out;
  std::string error;
  for (const char* bad :
       {"", "garbage", "{}", "[1]",
        R"({"v":2,"request_id":"a","user_id":1,"product_id":1,"quantity":1,"unit_price":1,"accepted_ms":1})",
        R"({"v":1,"request_id":"a","user_id":1,"product_id":1,"quantity":0,"unit_price":1,"accepted_ms":1})",
        R"({"v":1,"request_id":"a","user_id":1,"product_id":1,"quantity":1,"unit_price":1})",
        R"({"v":1,"request_id":"a","user_id":1,"product_id":1,"quantity":1,"unit_price":1,"accepted_ms":1,"x":1})",
        R"({"v":1,"request_id":"a","user_id":"1","product_id":1,"quantity":1,"unit_price":1,"accepted_ms":1})",
        R"({"v":1,"request_id":"a\"b","user_id":1,"product_id":1,"quantity":1,"unit_price":1,"accepted_ms":1})",
        R"({"v":1,"request_id":"a","user_id":1,"product_id":1,"quantity":1,"unit_price":1,"accepted_ms":1} x)"}) {
    INFO(bad);
    CHECK_FALSE(decode_event(bad, &out, &error));
    CHECK_FALSE(error.empty());
  }
}
