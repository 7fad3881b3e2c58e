// Packing of request ids; see request_key.h.
#include "request_key.h"

#include <bit>
#include <cstring>

namespace flashsale::memory {

namespace {

constexpr std::size_t kUuidLength = 36;
constexpr char kHex[] = "0123456789abcdef";
// Where each of the 16 bytes starts in the text; dashes at 8, 13, 18 and 23.
constexpr std::size_t kByteAt[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

// N bytes of text as an integer, the first byte lowest: one load on x86.
template <std::size_t N>
std::uint64_t load_le(const char* text) {
  static_assert(N <= 8);
  std::uint64_t value = 0;
  std::memcpy(&value, text, N);
  if constexpr (std::endian::native == std::endian::big) value = __builtin_bswap64(value) >> (64 - 8 * N);
  return value;
}

// Eight lowercase hex digits, loaded by load_le, into their 32-bit value; false
// when any is not one (upper case too: it would not print back the same).
// Eight digits at a time, within one 64-bit word: this runs several times per
// buy, and a digit-by-digit loop cost more than the rest of a state lookup.
bool parse_hex8(std::uint64_t chars, std::uint32_t* value) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  // Per byte, for bytes below 0x80 and no carry between them: the high bit of
  // x + 0x80 - lo says x >= lo, that of x + 0x7f - hi says x > hi.
  auto in_range = [chars](std::uint64_t lo, std::uint64_t hi) {
    return (chars + kOnes * (0x80 - lo)) & ~(chars + kOnes * (0x7f - hi)) & kHigh;
  };
  if ((chars & kHigh) != 0 || (in_range('0', '9') | in_range('a', 'f')) != kHigh) return false;
  std::uint64_t nibbles = (chars & 0x0f0f0f0f0f0f0f0full) + ((chars >> 6) & kOnes) * 9;  // 'a' = 0x61 -> 10
  // Byte 2k becomes digit 2k << 4 | digit 2k+1, then bytes 0, 2, 4, 6 move to 0..3.
  std::uint64_t bytes = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff00ff00ff00ffull;
  bytes = (bytes | (bytes >> 8)) & 0x0000ffff0000ffffull;
  bytes = (bytes | (bytes >> 16)) & 0xffffffffull;
  // The first digit is the most significant.
  *value = (static_cast<std::uint32_t>(bytes & 0xff) << 24) | (static_cast<std::uint32_t>((bytes >> 8) & 0xff) << 16) |
           (static_cast<std::uint32_t>((bytes >> 16) & 0xff) << 8) | static_cast<std::uint32_t>(bytes >> 24);
  return true;
}

// Parses canonical lowercase UUID text (8-4-4-4-12 digits) into its two 64-bit halves.
bool parse_uuid(std::string_view id, std::uint64_t* high, std::uint64_t* low) {
  if (id.size() != kUuidLength || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') return false;
  const char* text = id.data();
  std::uint32_t words[4] = {0, 0, 0, 0};
  if (!parse_hex8(load_le<8>(text), &words[0]) ||
      !parse_hex8(load_le<4>(text + 9) | (load_le<4>(text + 14) << 32), &words[1]) ||
      !parse_hex8(load_le<4>(text + 19) | (load_le<4>(text + 24) << 32), &words[2]) ||
      !parse_hex8(load_le<8>(text + 28), &words[3])) {
    return false;
  }
  *high = (std::uint64_t{words[0]} << 32) | words[1];
  *low = (std::uint64_t{words[2]} << 32) | words[3];
  return true;
}

}  // namespace

RequestKey::RequestKey(std::string_view id) {
  if (!parse_uuid(id, &high_, &low_)) text_ = std::make_unique<std::string>(id);
}

RequestKey::RequestKey(const RequestKey& other)
    : high_(other.high_),
      low_(other.low_),
      text_(other.text_ ? std::make_unique<std::string>(*other.text_) : nullptr) {}

RequestKey& RequestKey::operator=(const RequestKey& other) {
  if (this != &other) *this = RequestKey(other);
  return *this;
}

std::string RequestKey::text() const {
  if (text_) return *text_;
  std::string id(kUuidLength, '-');
  for (std::size_t byte = 0; byte < 16; ++byte) {
    auto value = static_cast<unsigned>(((byte < 8 ? high_ : low_) >> (56 - 8 * (byte % 8))) & 0xff);
    id[kByteAt[byte]] = kHex[value >> 4];
    id[kByteAt[byte] + 1] = kHex[value & 0xf];
  }
  return id;
}

std::size_t RequestKey::hash() const noexcept {
  if (text_) return std::hash<std::string>{}(*text_);
  // A UUIDv7 starts with its creation time; the low half is random (rand_b),
  // the high half mixed in for ids that are not v7.
  return static_cast<std::size_t>(low_ ^ (high_ * 0x9E3779B97F4A7C15ull));
}

bool RequestKey::operator==(const RequestKey& other) const noexcept {
  if (text_ || other.text_) return text_ && other.text_ && *text_ == *other.text_;
  return high_ == other.high_ && low_ == other.low_;
}

}  // namespace flashsale::memory
