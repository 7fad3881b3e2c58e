// The payment webhook's signature: HMAC-SHA256 of the raw body, hex, behind
// "sha256=", compared in constant time.
#include <catch2/catch.hpp>

#include "http/payment_signature.h"

namespace flashsale {

TEST_CASE("a payment signature is sha256= and the hex HMAC-SHA256 of the body", "[payments]") {
  // RFC 4231, test case 2.
  CHECK(payment_signature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("only the signature of this body under this secret verifies", "[payments]") {
  const std::string body = R"({"payment_id":"p-1","amount":100})";
  const std::string good = payment_signature("secret", body);
  CHECK(payment_signature_valid("secret", body, good));

  std::string upper = good;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  CHECK(payment_signature_valid("secret", body, upper));

  CHECK_FALSE(payment_signature_valid("secret", body + " ", good));
  CHECK_FALSE(payment_signature_valid("other", body, good));
  CHECK_FALSE(payment_signature_valid("", body, payment_signature("", body)));  // no secret: nothing verifies
  CHECK_FALSE(payment_signature_valid("secret", body, ""));
  CHECK_FALSE(payment_signature_valid("secret", body, good.substr(7)));               // no scheme
  CHECK_FALSE(payment_signature_valid("secret", body, "sha1=" + good.substr(7)));     // another scheme
  CHECK_FALSE(payment_signature_valid("secret", body, good.substr(0, good.size() - 1)));  // short
  CHECK_FALSE(payment_signature_valid("secret", body, good + "0"));                       // long
  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  CHECK_FALSE(payment_signature_valid("secret", body, flipped));
  std::string not_hex = good;
  not_hex[10] = 'g';
  CHECK_FALSE(payment_signature_valid("secret", body, not_hex));
}

}  // namespace flashsale
