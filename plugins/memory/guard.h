// The exception policy at the plugin boundary (flashsale/plugin.h): nothing
// throws across it. Every stage method of the memory family runs its body
// through guarded(), which turns an escaping exception (in practice
// std::bad_alloc) into Code::internal.
#pragma once

#include <exception>
#include <string>

#include "flashsale/status.h"

namespace flashsale::memory {

inline Status internal_error(const char* what, const char* why) noexcept {
  try {
    return Status(Code::internal, std::string("memory ") + what + ": " + why);
  } catch (...) {
    return Status(Code::internal, std::string());
  }
}

// Runs body() (which returns a Status) and catches whatever it throws.
template <typename Body>
Status guarded(const char* what, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    return internal_error(what, e.what());
  } catch (...) {
    return internal_error(what, "unknown exception");
  }
}

}  // namespace flashsale::memory
