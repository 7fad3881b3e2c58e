#include "http/json.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace flashsale {

bool JsonObject::parse(std::string_view text, JsonObject* out, std::string* error) {
  Poco::Dynamic::Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(text));
  } catch (const std::exception&) {
    *error = "body is not valid JSON";
    return false;
  }
  if (root.type() != typeid(Poco::JSON::Object::Ptr)) {
    *error = "body must be a JSON object";
    return false;
  }
  auto object = root.extract<Poco::JSON::Object::Ptr>();
  out->fields_.clear();
  for (const auto& [name, value] : *object) {
    Field field;
    if (value.isString()) {
      field.kind = Kind::string;
      field.text = value.extract<std::string>();
    } else if (value.isInteger() && !value.isBoolean()) {
      try {
        field.integer = value.convert<std::int64_t>();
        field.kind = Kind::integer;
      } catch (const std::exception&) {
        field.kind = Kind::other;  // an unsigned value beyond int64
      }
    }
    out->fields_[name] = std::move(field);
  }
  return true;
}

std::optional<std::int64_t> JsonObject::integer(const std::string& key, std::string* error) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) {
    *error = key + " is required";
    return std::nullopt;
  }
  if (it->second.kind != Kind::integer) {
    *error = key + " must be an integer";
    return std::nullopt;
  }
  return it->second.integer;
}

std::optional<std::string> JsonObject::string(const std::string& key, std::string* error) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) {
    *error = key + " is required";
    return std::nullopt;
  }
  if (it->second.kind != Kind::string) {
    *error = key + " must be a string";
    return std::nullopt;
  }
  return it->second.text;
}

void append_json_string(std::string* out, std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append("\\u00");
          out->push_back(hex[(c >> 4) & 0xf]);
          out->push_back(hex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void JsonWriter::key(std::string_view key) {
  if (out_.size() > 1) out_.push_back(',');
  append_json_string(&out_, key);
  out_.push_back(':');
}

JsonWriter& JsonWriter::field(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, std::int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view k, std::string_view json) {
  key(k);
  out_ += json;
  return *this;
}

std::string JsonWriter::done() {
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace flashsale
