#include <catch2/catch.hpp>

#include "http/error_mapping.h"
#include "http/json.h"

using flashsale::JsonObject;
using flashsale::JsonWriter;

TEST_CASE("request bodies are read strictly", "[json]") {
  JsonObject json;
  std::string error;
  REQUIRE(JsonObject::parse(R"({"product_id": 7, "user_id": 10001, "quantity": 1, "name": "x"})", &json, &error));
  CHECK(json.integer("product_id", &error) == 7);
  CHECK(json.string("name", &error) == "x");

  CHECK_FALSE(json.integer("missing", &error));
  CHECK(error == "missing is required");
  CHECK_FALSE(json.integer("name", &error));
  CHECK(error == "name must be an integer");

  REQUIRE(JsonObject::parse(R"({"a": 1.5, "b": true, "c": "1", "d": null, "e": {"x": 1}})", &json, &error));
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    INFO(key);
    CHECK_FALSE(json.integer(key, &error));
  }
  // Beyond int64: refused one way or the other, never wrapped.
  if (JsonObject::parse(R"({"d": 99999999999999999999})", &json, &error)) CHECK_FALSE(json.integer("d", &error));
}

TEST_CASE("non-objects and broken JSON are refused", "[json]") {
  JsonObject json;
  std::string error;
  CHECK_FALSE(JsonObject::parse("[1,2]", &json, &error));
  CHECK(error == "body must be a JSON object");
  CHECK_FALSE(JsonObject::parse("{\"a\":", &json, &error));
  CHECK(error == "body is not valid JSON");
  CHECK_FALSE(JsonObject::parse("", &json, &error));
}

TEST_CASE("responses escape what they carry", "[json]") {
  std::string body = JsonWriter().field("s", "a\"b\\c\n\x01").field("n", std::int64_t{-3}).field("t", true).done();
  CHECK(body == R"({"s":"a\"b\\c\n\u0001","n":-3,"t":true})");
  CHECK(flashsale::error_body("sold_out", "gone") == R"({"error":{"code":"sold_out","message":"gone"}})");
}
