#include "http/json.h"

#include <charconv>

namespace flashsale {

namespace {

// A strict RFC 8259 reader for the one object a request body is: its
// top-level strings and integers are kept, everything else is checked and
// kept as its kind only. Written for the buy path: no allocation beyond the
// fields themselves (a general-purpose DOM costs a dozen per body).
class Reader {
 public:
  enum class Outcome { object, other_value, invalid };

  explicit Reader(std::string_view text) : at_(text.data()), end_(text.data() + text.size()) {}

  // Reads the whole text as one JSON value, filling *fields if it is an object.
  template <typename Fields>
  Outcome read(Fields* fields) {
    skip_space();
    bool object = at_ < end_ && *at_ == '{';
    bool ok = object ? read_object(fields) : skip_value(0);
    skip_space();
    if (!ok || at_ != end_) return Outcome::invalid;
    return object ? Outcome::object : Outcome::other_value;
  }

 private:
  static constexpr int kMaxDepth = 512;  // deeper nesting is refused, not recursed into

  template <typename Fields>
  bool read_object(Fields* fields) {
    ++at_;  // '{'
    skip_space();
    if (consume('}')) return true;
    for (;;) {
      std::string key;
      skip_space();
      if (!read_string(&key)) return false;
      skip_space();
      if (!consume(':')) return false;
      skip_space();
      typename Fields::value_type::second_type field;
      if (!read_field(&field)) return false;
      fields->emplace_back(std::move(key), std::move(field));
      skip_space();
      if (consume('}')) return true;
      if (!consume(',')) return false;
    }
  }

  template <typename Field>
  bool read_field(Field* field) {
    if (at_ < end_ && *at_ == '"') {
      field->kind = Field::Kind::string;
      return read_string(&field->text);
    }
    if (at_ < end_ && (*at_ == '-' || (*at_ >= '0' && *at_ <= '9'))) {
      bool integral = false;
      const char* start = at_;
      if (!skip_number(&integral)) return false;
      // An integer beyond int64 is kept as "not an integer", never wrapped.
      if (integral && std::from_chars(start, at_, field->integer).ec == std::errc()) field->kind = Field::Kind::integer;
      return true;
    }
    return skip_value(1);
  }

  bool skip_value(int depth) {
    if (at_ >= end_ || depth > kMaxDepth) return false;
    switch (*at_) {
      case '"':
        return read_string(nullptr);
      case '{':
      case '[':
        return skip_container(depth);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default: {
        bool integral = false;
        return skip_number(&integral);
      }
    }
  }

  bool skip_container(int depth) {
    char close = *at_ == '{' ? '}' : ']';
    bool object = close == '}';
    ++at_;
    skip_space();
    if (consume(close)) return true;
    for (;;) {
      skip_space();
      if (object) {
        if (!read_string(nullptr)) return false;
        skip_space();
        if (!consume(':')) return false;
        skip_space();
      }
      if (!skip_value(depth + 1)) return false;
      skip_space();
      if (consume(close)) return true;
      if (!consume(',')) return false;
    }
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool skip_number(bool* integral) {
    consume('-');
    if (consume('0')) {
    } else if (!digits()) {
      return false;
    }
    *integral = true;
    if (consume('.')) {
      *integral = false;
      if (!digits()) return false;
    }
    if (at_ < end_ && (*at_ == 'e' || *at_ == 'E')) {
      *integral = false;
      ++at_;
      if (!consume('+')) consume('-');
      if (!digits()) return false;
    }
    return true;
  }

  bool digits() {
    const char* start = at_;
    while (at_ < end_ && *at_ >= '0' && *at_ <= '9') ++at_;
    return at_ != start;
  }

  // A string literal, unescaped into *out unless out is null; UTF-8 checked.
  bool read_string(std::string* out) {
    if (!consume('"')) return false;
    for (;;) {
      // A run of plain ASCII (a key, an id) is copied in one append.
      const char* run = at_;
      while (at_ < end_ && plain_ascii(static_cast<unsigned char>(*at_))) ++at_;
      if (out != nullptr && at_ != run) out->append(run, static_cast<std::size_t>(at_ - run));
      if (at_ >= end_) return false;
      auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!read_escape(out)) return false;
      } else if (!copy_utf8(out)) {
        return false;
      }
    }
  }

  static bool plain_ascii(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

  bool read_escape(std::string* out) {
    ++at_;  // backslash
    if (at_ >= end_) return false;
    char c = *at_++;
    char plain = 0;
    switch (c) {
      case '"':
        plain = '"';
        break;
      case '\\':
        plain = '\\';
        break;
      case '/':
        plain = '/';
        break;
      case 'b':
        plain = '\b';
        break;
      case 'f':
        plain = '\f';
        break;
      case 'n':
        plain = '\n';
        break;
      case 'r':
        plain = '\r';
        break;
      case 't':
        plain = '\t';
        break;
      case 'u':
        return read_unicode_escape(out);
      default:
        return false;
    }
    if (out != nullptr) out->push_back(plain);
    return true;
  }

  bool read_unicode_escape(std::string* out) {
    std::uint32_t code = 0;
    if (!hex4(&code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // a lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (!consume('\\') || !consume('u') || !hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (out != nullptr) append_utf8(out, code);
    return true;
  }

  bool hex4(std::uint32_t* code) {
    if (end_ - at_ < 4) return false;
    for (int i = 0; i < 4; ++i) {
      char c = *at_++;
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) return false;
      *code = *code * 16 + static_cast<std::uint32_t>(digit);
    }
    return true;
  }

  static void append_utf8(std::string* out, std::uint32_t code) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // One well-formed UTF-8 sequence (no overlongs, surrogates or > U+10FFFF).
  bool copy_utf8(std::string* out) {
    auto byte = [&](std::ptrdiff_t i) { return static_cast<unsigned char>(at_[i]); };
    unsigned char lead = byte(0);
    std::ptrdiff_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (lead < 0xC2 || lead > 0xF4 || end_ - at_ < length) return false;
    for (std::ptrdiff_t i = 1; i < length; ++i)
      if ((byte(i) & 0xC0) != 0x80) return false;
    if ((lead == 0xE0 && byte(1) < 0xA0) || (lead == 0xED && byte(1) > 0x9F) || (lead == 0xF0 && byte(1) < 0x90) ||
        (lead == 0xF4 && byte(1) > 0x8F)) {
      return false;
    }
    if (out != nullptr) out->append(at_, static_cast<std::size_t>(length));
    at_ += length;
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - at_) < word.size() || std::string_view(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  bool consume(char c) {
    if (at_ < end_ && *at_ == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void skip_space() {
    while (at_ < end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r')) ++at_;
  }

  const char* at_;
  const char* const end_;
};

}  // namespace

bool JsonObject::parse(std::string_view text, JsonObject* out, std::string* error) {
  out->fields_.clear();
  out->fields_.reserve(4);  // a buy body has three fields: one allocation, not three
  switch (Reader(text).read(&out->fields_)) {
    case Reader::Outcome::object:
      return true;
    case Reader::Outcome::other_value:
      out->fields_.clear();
      *error = "body must be a JSON object";
      return false;
    case Reader::Outcome::invalid:
      break;
  }
  out->fields_.clear();
  *error = "body is not valid JSON";
  return false;
}

const JsonObject::Field* JsonObject::find(std::string_view key) const {
  // A repeated key: the last one counts, as in most parsers.
  for (auto it = fields_.rbegin(); it != fields_.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

std::optional<std::int64_t> JsonObject::integer(const std::string& key, std::string* error) const {
  const Field* field = find(key);
  if (field == nullptr) {
    *error = key + " is required";
    return std::nullopt;
  }
  if (field->kind != Field::Kind::integer) {
    *error = key + " must be an integer";
    return std::nullopt;
  }
  return field->integer;
}

std::optional<std::string> JsonObject::string(const std::string& key, std::string* error) const {
  const Field* field = find(key);
  if (field == nullptr) {
    *error = key + " is required";
    return std::nullopt;
  }
  if (field->kind != Field::Kind::string) {
    *error = key + " must be a string";
    return std::nullopt;
  }
  return field->text;
}

void append_json_string(std::string* out, std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  out->push_back('"');
  // Runs that need no escaping (all of an id or a status) are copied whole.
  std::size_t plain = 0;
  while (plain < text.size() && text[plain] != '"' && text[plain] != '\\' &&
         static_cast<unsigned char>(text[plain]) >= 0x20) {
    ++plain;
  }
  out->append(text.data(), plain);
  text.remove_prefix(plain);
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
