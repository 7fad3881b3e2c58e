// Loads stages the way the server does: a Config from load_config (defaults
// plus environment-style overrides) handed to the real PluginHost, so a
// micro-benchmark measures the plugin as shipped, across the .so boundary.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "flashsale/types.h"
#include "host/plugin_host.h"

namespace flashsale::bench {

// `overrides` are environment variables, e.g. {"STAGE_ADMIT", "memory"}.
// Stages not named default to memory (persist too). Throws on any problem.
Stages load_stages(const std::map<std::string, std::string>& overrides);

// A stock of `sellable` for `product`, on sale from an hour ago for a day.
SaleStock big_stock(ProductId product, std::int64_t sellable);

// One admissible order event for `user` with a fresh request id from
// new_request_id(), as the server makes them (UUIDv7, time-ordered).
OrderEvent order_event(ProductId product, UserId user);

// `count` events for distinct users starting at `first_user`.
std::vector<OrderEvent> order_batch(ProductId product, UserId first_user, int count);

}  // namespace flashsale::bench
