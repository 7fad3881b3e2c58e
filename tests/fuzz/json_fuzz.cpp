// Feeds arbitrary bytes to the JSON body reader and reads a few keys back;
// then writes the bytes as a JSON string and checks the reader returns them
// unchanged exactly when they are valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/json.h"

#define FUZZ_CHECK(condition)                                                         \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "broken invariant: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

// RFC 3629 well-formed UTF-8, written apart from the reader it checks.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = code << 6 | (next & 0x3F);
    }
    static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  flashsale::JsonObject object;
  std::string error;
  if (flashsale::JsonObject::parse(text, &object, &error)) {
    for (const char* key : {"product_id", "user_id", "quantity", "name", "idempotency_key", ""}) {
      error.clear();
      bool has = object.has(key);
      auto integer = object.integer(key, &error);
      FUZZ_CHECK(integer.has_value() || !error.empty());
      error.clear();
      auto string = object.string(key, &error);
      FUZZ_CHECK(string.has_value() || !error.empty());
      FUZZ_CHECK(!(integer && string));
      FUZZ_CHECK(has || (!integer && !string));
    }
  } else {
    FUZZ_CHECK(!error.empty());
  }

  std::string written = "{\"k\":";
  flashsale::append_json_string(&written, text);
  written += '}';
  flashsale::JsonObject round_trip;
  bool read = flashsale::JsonObject::parse(written, &round_trip, &error);
  FUZZ_CHECK(read == valid_utf8(text));
  if (read) {
    auto back = round_trip.string("k", &error);
    FUZZ_CHECK(back && *back == text);
  }
  return 0;
}
