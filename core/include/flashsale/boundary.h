// Helpers for the exception policy at the plugin boundary (plugin.h): nothing
// throws across it. A stage method runs its body through guarded(); a
// Backend's make_* runs its constructor through make_or_report().
#pragma once

#include <exception>
#include <string>

#include "flashsale/status.h"

namespace flashsale {

inline Status internal_error(const char* what, const char* why) noexcept {
  try {
    return Status(Code::internal, std::string(what) + ": " + why);
  } catch (...) {
    return Status(Code::internal, std::string());  // no memory even for the message
  }
}

// Runs body() (which returns a Status); whatever it throws (in practice
// std::bad_alloc) becomes Code::internal with `what` ("redis admit") in front.
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

// Runs make() (which returns a new stage); on an exception returns nullptr
// with *error set, as Backend::make_* promise.
template <typename Make>
auto make_or_report(std::string* error, Make make) noexcept -> decltype(make()) {
  try {
    return make();
  } catch (const std::exception& e) {
    if (error != nullptr) *error = std::string("cannot make the stage: ") + e.what();
  } catch (...) {
    if (error != nullptr) *error = "cannot make the stage";
  }
  return nullptr;
}

}  // namespace flashsale
