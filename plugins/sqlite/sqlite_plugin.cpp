// The sqlite backend family (being written).
#include "flashsale/plugin.h"

namespace {
flashsale::Backend* make_backend(const flashsale::Settings&, std::string*) noexcept {
  return new flashsale::Backend();
}
const flashsale::PluginDescriptor descriptor{flashsale::kPluginAbiVersion, "sqlite", &make_backend};
}  // namespace
FLASHSALE_PLUGIN(descriptor)
