-- ratelimit.lua: a sliding-window log per subject, judged by Redis' clock.
--
-- KEYS[1] fs:rl:{<subject>}   sorted set: one member per allowed request, scored by its time in µs
-- ARGV    limit, window_ms
--
-- Returns 1 when the request is allowed (and counted), 0 when the subject
-- already made `limit` requests within the last window_ms.

local limit = tonumber(ARGV[1])
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
-- Entries that left the window are dropped only when the count reaches the
-- limit: below it, the request is allowed whether or not some are stale, and
-- the set never holds more than `limit` members. Numbers go to Redis as "%d"
-- strings: Lua's default %.14g would round them.
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now_us - tonumber(ARGV[2]) * 1000))
  count = redis.call('ZCARD', KEYS[1])
end
if count >= limit then return 0 end
-- Within one microsecond the count differs between calls, so members are unique.
local stamp = string.format('%d', now_us)
redis.call('ZADD', KEYS[1], stamp, stamp .. ':' .. count)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
