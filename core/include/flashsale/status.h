// Expected outcomes travel as values, never as exceptions: a stage returns a
// Status, and the HTTP layer maps each Code to one status and one error code
// in one place (core/src/http/error_mapping.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace flashsale {

enum class Code : std::uint8_t {
  ok,
  invalid_argument,        // the caller's input is wrong; nothing changed
  not_found,               // the thing asked for does not exist
  sold_out,                // stock < quantity
  already_purchased,       // the user already holds an order (or a pending one) for the product
  not_preloaded,           // the admit stage has no stock for the product
  sale_not_active,         // outside the product's sale window
  idempotency_key_reused,  // the key was used before with a different body
  unavailable,             // a backend cannot be reached now; retrying later may work
  internal,                // a bug or a broken invariant
  rate_limited,            // the caller is over its request rate; nothing else changed
  already_paid,            // the order was paid (by another payment, for a pay call)
  order_cancelled,         // the order was cancelled; a payment for it must be refunded
  amount_mismatch,         // a payment's amount differs from the order's; nothing changed
  sale_paused,             // an operator paused the product's sale; nothing changed
};

// Stable, lower-case name of a code, as used in JSON error bodies.
const char* code_name(Code code) noexcept;

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const noexcept { return code_ == Code::ok; }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

}  // namespace flashsale
