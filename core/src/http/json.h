// The small amount of JSON the API speaks. Requests are parsed with Poco's
// parser into a flat view of one object; responses are written directly,
// since they are a handful of known fields and sit on the hot path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flashsale {

// One JSON object's top-level scalar fields. Nested values are kept as their
// kind only, so a field of the wrong type is reported, not misread.
class JsonObject {
 public:
  // Returns false (with *error) unless `text` is a single JSON object.
  static bool parse(std::string_view text, JsonObject* out, std::string* error);

  bool has(const std::string& key) const { return fields_.count(key) != 0; }
  // The integer value of key; nullopt (and *error naming the key) when absent,
  // not an integer, or out of int64 range.
  std::optional<std::int64_t> integer(const std::string& key, std::string* error) const;
  std::optional<std::string> string(const std::string& key, std::string* error) const;

 private:
  enum class Kind { integer, string, other };
  struct Field {
    Kind kind = Kind::other;
    std::int64_t integer = 0;
    std::string text;
  };
  std::map<std::string, Field> fields_;
};

// Appends `text` as a JSON string literal (quotes included).
void append_json_string(std::string* out, std::string_view text);

// Builds {"k": v, ...} one field at a time.
class JsonWriter {
 public:
  JsonWriter& field(std::string_view key, std::string_view value);
  JsonWriter& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
  JsonWriter& field(std::string_view key, std::int64_t value);
  JsonWriter& field(std::string_view key, bool value);
  JsonWriter& raw(std::string_view key, std::string_view json);  // value already JSON
  std::string done();

 private:
  void key(std::string_view key);
  std::string out_ = "{";
};

}  // namespace flashsale
