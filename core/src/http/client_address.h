// Who the client is: the TCP peer, or, when the peer is a proxy listed in
// http.trusted.proxies, the address that proxy put in X-Forwarded-For. An
// untrusted peer's X-Forwarded-For is ignored: anyone can write one.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flashsale {

// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped into ::ffff:0:0/96).
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  static bool parse(std::string_view text, IpAddress* out);  // false unless a literal address
  bool operator==(const IpAddress& other) const { return bytes == other.bytes; }
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& address) const noexcept;
};

class TrustedProxies {
 public:
  // `list`: comma-separated addresses and CIDR blocks ("10.0.0.0/8, ::1").
  // Returns false with *error naming the bad entry.
  static bool parse(std::string_view list, TrustedProxies* out, std::string* error);

  bool empty() const { return blocks_.empty(); }
  bool contains(const IpAddress& address) const;

  // The client's address as text: `peer_text` unless the peer is trusted
  // and `forwarded_for` (X-Forwarded-For) names someone: then the right-most
  // entry that is not itself a trusted proxy (the left-most if all are).
  std::string client(const IpAddress& peer, std::string_view peer_text, std::string_view forwarded_for) const;

 private:
  struct Block {
    IpAddress address;
    int prefix_bits = 128;
  };
  std::vector<Block> blocks_;
};

}  // namespace flashsale
