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

TEST_CASE("strings are unescaped, and only well-formed UTF-8 is accepted", "[json]") {
  JsonObject json;
  std::string error;
  REQUIRE(JsonObject::parse(R"({"s": "a\"b\\c\/d\n\t\u00e9\u20ac\ud83d\ude00", "k": ")"
                            "\xc3\xa9"
                            R"("})",
                            &json, &error));
  CHECK(json.string("s", &error) == "a\"b\\c/d\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  CHECK(json.string("k", &error) == "\xc3\xa9");
  for (const char* bad : {R"({"s": "\ud83d"})", R"({"s": "\ude00"})", R"({"s": "\x"})", R"({"s": "\u12"})",
                          "{\"s\": \"\x01\"}", "{\"s\": \"\xc3\"}", "{\"s\": \"\xc0\xaf\"}",
                          "{\"s\": \"\xed\xa0\x80\"}", "{\"s\": \"\xf4\x90\x80\x80\"}", "{\"s\": \"\xff\"}"}) {
    INFO(bad);
    CHECK_FALSE(JsonObject::parse(bad, &json, &error));
    CHECK(error == "body is not valid JSON");
  }
}

TEST_CASE("numbers follow the JSON grammar and nested values are checked, then skipped", "[json]") {
  JsonObject json;
  std::string error;
  REQUIRE(
      JsonObject::parse(" {\n\"a\" : -0 , \"b\":9223372036854775807,\"c\":-9223372036854775808, \"d\": 1e5,"
                        " \"e\": [1, {\"x\": [true, false, null, \"y\"]}], \"f\": {}, \"g\": []}\t",
                        &json, &error));
  CHECK(json.integer("a", &error) == 0);
  CHECK(json.integer("b", &error) == INT64_MAX);
  CHECK(json.integer("c", &error) == INT64_MIN);
  CHECK_FALSE(json.integer("d", &error));
  CHECK(json.has("e"));
  CHECK_FALSE(json.string("e", &error));
  CHECK(error == "e must be a string");

  REQUIRE(JsonObject::parse(R"({"a": 1, "a": 2})", &json, &error));
  CHECK(json.integer("a", &error) == 2);  // the last of a repeated key counts

  for (const char* bad : {"{\"a\": 01}", "{\"a\": -}", "{\"a\": 1.}", "{\"a\": .5}", "{\"a\": 1e}", "{\"a\": +1}",
                          "{\"a\": 1,}", "{,}", "{\"a\" 1}", "{a: 1}", "{\"a\": tru}", "{\"a\": [1,]}", "{} {}",
                          "{\"a\": 1} x", "{\"a\": [1, 2}", "{\"a\": \"x}"}) {
    INFO(bad);
    CHECK_FALSE(JsonObject::parse(bad, &json, &error));
    CHECK(error == "body is not valid JSON");
  }
  CHECK_FALSE(JsonObject::parse("\"just a string\"", &json, &error));
  CHECK(error == "body must be a JSON object");
  CHECK_FALSE(JsonObject::parse("42", &json, &error));
  CHECK(error == "body must be a JSON object");

  // Deep nesting is refused without recursing without bound.
  std::string deep = "{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK_FALSE(JsonObject::parse(deep, &json, &error));
  std::string fine = "{\"a\": " + std::string(100, '[') + std::string(100, ']') + "}";
  CHECK(JsonObject::parse(fine, &json, &error));
}

TEST_CASE("responses escape what they carry", "[json]") {
  std::string body = JsonWriter().field("s", "a\"b\\c\n\x01").field("n", std::int64_t{-3}).field("t", true).done();
  CHECK(body == R"({"s":"a\"b\\c\n\u0001","n":-3,"t":true})");
  CHECK(flashsale::error_body("sold_out", "gone") == R"({"error":{"code":"sold_out","message":"gone"}})");
}
