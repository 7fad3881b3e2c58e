// The redis backend family: ratelimit, admit, outbox and notify on one Redis
// server (plugins/redis/README.md has the key layout and script contracts).
// This file is the plugin's one exported symbol.
#include "flashsale/plugin.h"
#include "redis/redis_backend.h"
#include "redis/redis_settings.h"

namespace flashsale::redis {
namespace {
const PluginDescriptor descriptor{kPluginAbiVersion,    "redis",          &make_backend,
                                  setting::kAll,        setting::kCount, "ratelimit,admit,outbox,notify"};
}  // namespace
}  // namespace flashsale::redis

FLASHSALE_PLUGIN(flashsale::redis::descriptor)
