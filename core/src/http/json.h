// The small amount of JSON the API speaks. Request bodies are read by a
// strict RFC 8259 reader into a flat view of one object; responses are
// written directly. Both sit on the buy path, so neither builds a DOM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashsale {

// One JSON object's top-level scalar fields. Nested values are kept as their
// kind only, so a field of the wrong type is reported, not misread.
class JsonObject {
 public:
  // Returns false (with *error) unless `text` is a single JSON object.
  static bool parse(std::string_view text, JsonObject* out, std::string* error);

  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The integer value of key; nullopt (and *error naming the key) when absent,
  // not an integer, or out of int64 range.
  std::optional<std::int64_t> integer(const std::string& key, std::string* error) const;
  std::optional<std::string> string(const std::string& key, std::string* error) const;

 private:
  struct Field {
    enum class Kind { integer, string, other };
    Kind kind = Kind::other;
    std::int64_t integer = 0;
    std::string text;
  };
  const Field* find(std::string_view key) const;

  std::vector<std::pair<std::string, Field>> fields_;  // in body order; a handful
};

// Appends `text` as a JSON string literal (quotes included).
void append_json_string(std::string* out, std::string_view text);

// Builds {"k": v, ...} one field at a time.
class JsonWriter {
 public:
  JsonWriter() {
    out_.reserve(128);  // an answer of a few fields: one allocation
    out_ += '{';
  }
  JsonWriter& field(std::string_view key, std::string_view value);
  JsonWriter& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
  JsonWriter& field(std::string_view key, std::int64_t value);
  JsonWriter& field(std::string_view key, bool value);
  JsonWriter& raw(std::string_view key, std::string_view json);  // value already JSON
  std::string done();

 private:
  void key(std::string_view key);
  std::string out_;
};

}  // namespace flashsale
