#include "http/payment_signature.h"

#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include <cstdint>

namespace flashsale {

namespace {

constexpr std::string_view kScheme = "sha256=";

// Poco's HMACEngine takes the engine's sizes as enum members, which
// SHA2Engine (a run-time choice of algorithm) lacks: this fixes SHA-256.
class Sha256Engine : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

Poco::DigestEngine::Digest hmac(std::string_view secret, std::string_view body) {
  Poco::HMACEngine<Sha256Engine> engine(secret.data(), secret.size());
  engine.update(body.data(), static_cast<unsigned>(body.size()));
  return engine.digest();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string payment_signature(std::string_view secret, std::string_view body) {
  return std::string(kScheme) + Poco::DigestEngine::digestToHex(hmac(secret, body));
}

bool payment_signature_valid(std::string_view secret, std::string_view body, std::string_view header) {
  if (secret.empty() || header.substr(0, kScheme.size()) != kScheme) return false;
  std::string_view hex = header.substr(kScheme.size());
  Poco::DigestEngine::Digest expected = hmac(secret, body);
  if (hex.size() != expected.size() * 2) return false;
  // Every byte is looked at whatever the first difference, so the time taken
  // says nothing about how much of a forged signature was right.
  unsigned difference = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    difference |= static_cast<unsigned>(high < 0) | static_cast<unsigned>(low < 0);
    difference |= static_cast<unsigned>(((high & 0xf) << 4) | (low & 0xf)) ^ expected[i];
  }
  return difference == 0;
}

}  // namespace flashsale
