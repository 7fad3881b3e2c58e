// The Redis key layout of the redis family (plugins/redis/README.md, "Key layout", has the
// table). Every key an admission touches carries its product's hash tag
// {p:<product_id>}, so one script call stays in one Redis Cluster slot.
// Request states carry the request's own tag {r:<request_id>}: /result finds
// them by request_id alone.
#pragma once

#include <string>

#include "flashsale/types.h"

namespace flashsale::redis::keys {

std::string sale(ProductId product);                    // hash: remaining, start_ms, end_ms
std::string user_lock(ProductId product, UserId user);  // string: request_id
std::string idempotency(ProductId product,
                        const std::string& key);  // string: user:quantity:request_id
std::string compensated(ProductId product,
                        const std::string& request_id);    // string marker
std::string returned(ProductId product, OrderId order);    // string marker: the order's stock came back
std::string topped_up(ProductId product, TopUpId top_up);  // string marker: the top-up was added
std::string paused(ProductId product);                     // string: present while the sale is paused
std::string state(const std::string& request_id);          // string: <status>|<order_id>|<reason>
std::string rate_window(const std::string& subject);       // sorted set of request times
std::string product_tag(ProductId product);                // p:<product>, the hash tag of a product's keys

// The same keys under any hash tag: a stock shard's ("p:<product>:s:<i>",
// stock_shards.h) or the product's own (product_tag).
std::string sale_in(const std::string& tag);
std::string user_lock_in(const std::string& tag, UserId user);
std::string idempotency_in(const std::string& tag, const std::string& key);
std::string compensated_in(const std::string& tag, const std::string& request_id);
std::string returned_in(const std::string& tag, OrderId order);
std::string topped_up_in(const std::string& tag, TopUpId top_up);
std::string paused_in(const std::string& tag);
std::string transfers(const std::string& tag);  // hash: transfer_id -> "<to>:<count>:<started_ms>" (out of this shard)
std::string transferred_in(const std::string& tag, const std::string& transfer_id);  // string marker
std::string shard_count(ProductId product);  // string: the product's stock_shards, once it has more than one
std::string shard_plan(ProductId product);   // string: "<part>,<part>,...", the split of a preload
// On a cluster, the outbox stream of one hash tag: <base>{<tag>}, so admit.lua
// can append to it in the product's slot.
std::string tagged_stream(const std::string& base, const std::string& tag);
// <base>:live_streams, a sorted set: every tagged stream in use -> the instant
// (ms) its sale expires ("+inf": never); the outbox reader prunes it.
std::string stream_registry(const std::string& base);
std::string dead_letters(const std::string& stream);         // <stream>:dead
std::string dead_letter_replays(const std::string& stream);  // <stream>:dead:replayed, a counter
// On a cluster, <base>:dead:replayed:retired: the replays of the streams
// retired from the registry, so the total never goes down.
std::string retired_replays(const std::string& base);

}  // namespace flashsale::redis::keys
