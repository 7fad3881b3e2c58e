#include "http/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "http/field_syntax.h"

namespace flashsale {

using http_syntax::trim;

bool IpAddress::parse(std::string_view text, IpAddress* out) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  in_addr v4;
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    address.bytes[10] = address.bytes[11] = 0xff;
    std::memcpy(&address.bytes[12], &v4, 4);
  } else if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) {
    return false;
  }
  *out = address;
  return true;
}

std::size_t IpAddressHash::operator()(const IpAddress& address) const noexcept {
  std::uint64_t high, low;
  std::memcpy(&high, address.bytes.data(), 8);
  std::memcpy(&low, address.bytes.data() + 8, 8);
  return static_cast<std::size_t>((high * 0x9e3779b97f4a7c15ULL) ^ (low * 0xc2b2ae3d27d4eb4fULL));
}

bool TrustedProxies::parse(std::string_view list, TrustedProxies* out, std::string* error) {
  TrustedProxies proxies;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    Block block;
    auto slash = entry.find('/');
    bool v4 = entry.find(':') == std::string_view::npos;
    if (!IpAddress::parse(entry.substr(0, slash), &block.address)) {
      *error = "'" + std::string(entry) + "' is not an address or CIDR block";
      return false;
    }
    if (slash != std::string_view::npos) {
      std::string_view bits = entry.substr(slash + 1);
      int value = 0;
      for (char c : bits) value = c >= '0' && c <= '9' && value <= 128 ? value * 10 + (c - '0') : 1000;
      if (bits.empty() || value > (v4 ? 32 : 128)) {
        *error = "'" + std::string(entry) + "' has a bad prefix length";
        return false;
      }
      block.prefix_bits = v4 ? 96 + value : value;
    }
    proxies.blocks_.push_back(block);
  }
  *out = std::move(proxies);
  return true;
}

bool TrustedProxies::contains(const IpAddress& address) const {
  for (const Block& block : blocks_) {
    int bits = block.prefix_bits;
    bool match = true;
    for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
      match = (address.bytes[i] & mask) == (block.address.bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedProxies::client(const IpAddress& peer, std::string_view peer_text,
                                   std::string_view forwarded_for) const {
  if (forwarded_for.empty() || !contains(peer)) return std::string(peer_text);
  std::string_view chosen;
  // Right to left: each hop appended the address it received from.
  while (!forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    std::string_view entry = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    IpAddress address;
    if (!IpAddress::parse(entry, &address)) break;  // garbage: stop at the last address we can vouch for
    chosen = entry;
    if (!contains(address)) break;
  }
  return chosen.empty() ? std::string(peer_text) : std::string(chosen);
}

}  // namespace flashsale
