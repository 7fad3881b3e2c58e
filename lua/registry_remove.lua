-- registry_remove.lua: removes a retired stream from the cluster's registry
-- of outbox streams, unless it was registered again meanwhile.
--
-- KEYS[1] the registry  <order.event.stream>:live_streams, a sorted set:
--                       stream -> the instant (ms) its sale expires
-- ARGV[1] the stream
-- ARGV[2] its score as read when it was retired
--
-- A preload registers a stream (raising its score to the new sale's expiry)
-- before it loads the stock: if that happened since the score was read, the
-- stream stays, whatever the order of the two steps. Returns 1 when removed.

if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
