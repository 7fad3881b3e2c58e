// The memory backend family (being written).
#include "flashsale/plugin.h"

namespace {
flashsale::Backend* make_backend(const flashsale::Settings&, std::string*) noexcept {
  return new flashsale::Backend();
}
const flashsale::PluginDescriptor descriptor{flashsale::kPluginAbiVersion, "memory", &make_backend};
}  // namespace
FLASHSALE_PLUGIN(descriptor)
