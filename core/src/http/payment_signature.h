// The signature a payment provider puts on its webhook: header
// `X-Payment-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, keyed with
// payment.webhook.secret. Checked before the body is even parsed, so an
// unsigned request changes nothing and learns nothing.
#pragma once

#include <string>
#include <string_view>

namespace flashsale {

// "sha256=" followed by the lower-case hex HMAC-SHA256 of `body`.
std::string payment_signature(std::string_view secret, std::string_view body);

// Whether `header` is the signature of `body` under `secret`. The digests are
// compared in constant time; the hex may be in either case. An empty secret
// verifies nothing.
bool payment_signature_valid(std::string_view secret, std::string_view body, std::string_view header);

}  // namespace flashsale
