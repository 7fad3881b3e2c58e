// The syntax HTTP/1.1 heads share (RFC 9110 §5, RFC 9112): byte classes
// by table, lines, comma-separated lists and field lines. Small and inline:
// the request parser runs them on every byte of every head.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/message.h"

namespace flashsale::http_syntax {

// Byte classes, one table lookup per byte.
enum : std::uint8_t {
  kToken = 1,       // tchar (RFC 9110 §5.6.2)
  kFieldByte = 2,   // field-value and chunk-ext bytes: VCHAR, SP, HTAB, obs-text
  kTargetByte = 4,  // visible ASCII
  kHostByte = 8,    // reg-name, IP-literal and port bytes (RFC 3986), no userinfo
  kHexDigit = 16,
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t bits = 0;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    if (alpha || digit ||
        (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)) {
      bits |= kToken;
    }
    if ((c >= 0x21 && c <= 0x7E) || c == ' ' || c == '\t' || c >= 0x80) bits |= kFieldByte;
    if (c >= 0x21 && c <= 0x7E) bits |= kTargetByte;
    if (alpha || digit ||
        (c != 0 && std::string_view("-._~%!$&'()*+,;=:[]").find(static_cast<char>(c)) != std::string_view::npos)) {
      bits |= kHostByte;
    }
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kHexDigit;
    classes[static_cast<std::size_t>(c)] = bits;
  }
  return classes;
}

inline constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

inline bool is(char c, std::uint8_t byte_class) {
  return (kClasses[static_cast<unsigned char>(c)] & byte_class) != 0;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// Whether a line whose bytes before its LF number `size`, the last being
// `last`, is longer than `max` without its CRLF. Used on lines still in
// progress too, so a limit is crossed at the same byte however the input is cut.
inline bool line_exceeds(std::size_t size, char last, std::size_t max) {
  return size > max + 1 || (size == max + 1 && last != '\r');
}

inline bool all_of_class(std::string_view text, std::uint8_t byte_class) {
  for (char c : text) {
    if (!is(c, byte_class)) return false;
  }
  return true;
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Calls visit(element) for each element of a comma-separated list, trimmed
// of OWS; empty elements included.
template <typename Visit>
void for_each_element(std::string_view list, Visit visit) {
  while (true) {
    std::size_t comma = list.find(',');
    visit(trim(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// Whether a field name of the same length as `lower` is it; the first byte
// is compared before the call, as most names differ there.
inline bool named(std::string_view name, std::string_view lower) {
  return (name.front() | 0x20) == lower.front() && equals_ignore_case(name, lower);
}

inline bool starts_with_ignore_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_ignore_case(text.substr(0, prefix.size()), prefix);
}

// Checks one field line (without its CRLF), as header and trailer fields
// share the syntax. Returns the refusal, or nullptr with the name's end and
// the value's bounds (OWS trimmed) set.
const char* check_field_line(std::string_view line, std::size_t* name_end, std::size_t* value_at,
                             std::size_t* value_end);

}  // namespace flashsale::http_syntax
