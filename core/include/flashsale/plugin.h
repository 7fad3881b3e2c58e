// The contract between the host and a backend plugin (one shared object per
// backend family: memory, sqlite, redis, kafka, ...).
//
// A plugin exports exactly one symbol, `flashsale_plugin`, through
// FLASHSALE_PLUGIN(descriptor): a PluginDescriptor whose first field is the ABI
// version the plugin was built against. The host refuses a plugin whose
// version differs from kPluginAbiVersion. Bump kPluginAbiVersion whenever a
// header in include/flashsale/ changes in a way that alters layout or vtables.
//
// Exception policy at the boundary: nothing throws across it. Every function
// a plugin exposes is noexcept; failures come back as Status values or as a
// null pointer with a one-line message in *error. A plugin catches at each of
// its entry points.
//
// Lifetime: the host keeps the library loaded until every object the plugin
// made has been destroyed (each object's deleter holds a reference to the
// library).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/dll/alias.hpp>

#include "flashsale/admission.h"
#include "flashsale/notifier.h"
#include "flashsale/order_store.h"
#include "flashsale/outbox.h"
#include "flashsale/ratelimit.h"
#include "flashsale/relay.h"
#include "flashsale/settings.h"

namespace flashsale {

// 2: Notifier::finish_all. 3: Admission::counts_rate_limit, Code::rate_limited.
inline constexpr std::uint32_t kPluginAbiVersion = 3;

// One per family per process. Stages made by the same Backend may share state
// (memory admit, outbox and notify share one store; redis ones one server).
// Each make_* returns a new object owned by the caller, or nullptr with
// *error set when the family does not provide the stage or it cannot start.
// The Backend outlives every stage it made.
class Backend {
 public:
  virtual ~Backend() = default;

  virtual RateLimiter* make_ratelimit(std::string* error) noexcept;
  virtual Admission* make_admission(std::string* error) noexcept;
  virtual Outbox* make_outbox(std::string* error) noexcept;
  virtual Relay* make_relay(std::string* error) noexcept;
  virtual OrderStore* make_order_store(std::string* error) noexcept;
  virtual Notifier* make_notifier(std::string* error) noexcept;
};

namespace detail {
inline std::nullptr_t not_provided(std::string* error, const char* stage) noexcept {
  if (error != nullptr) *error = std::string("does not provide the ") + stage + " stage";
  return nullptr;
}
}  // namespace detail

inline RateLimiter* Backend::make_ratelimit(std::string* error) noexcept {
  return detail::not_provided(error, "ratelimit");
}
inline Admission* Backend::make_admission(std::string* error) noexcept {
  return detail::not_provided(error, "admit");
}
inline Outbox* Backend::make_outbox(std::string* error) noexcept {
  return detail::not_provided(error, "outbox");
}
inline Relay* Backend::make_relay(std::string* error) noexcept {
  return detail::not_provided(error, "relay");
}
inline OrderStore* Backend::make_order_store(std::string* error) noexcept {
  return detail::not_provided(error, "persist");
}
inline Notifier* Backend::make_notifier(std::string* error) noexcept {
  return detail::not_provided(error, "notify");
}

struct PluginDescriptor {
  std::uint32_t abi_version;  // first, so any version can read it
  const char* family;         // must equal the name the config uses
  // Makes the family's Backend from the whole resolved configuration.
  Backend* (*make_backend)(const Settings& settings, std::string* error) noexcept;
};

}  // namespace flashsale

// Exports `descriptor` (a namespace-scope PluginDescriptor) as the plugin's
// one factory symbol.
#define FLASHSALE_PLUGIN(descriptor) BOOST_DLL_ALIAS(descriptor, flashsale_plugin)
