-- ratelimit.lua: a sliding-window log per subject, judged by Redis' clock.
--
-- KEYS[1] fs:rl:{<subject>}   while the subject made one request within the window: a string, that
--                             request's time in µs, expiring with the window; from its second: a
--                             sorted set, one member per allowed request, scored by its time in µs
-- ARGV    limit, window_ms
--
-- Returns 1 when the request is allowed (and counted), 0 when the subject
-- already made `limit` requests within the last window_ms. admit.lua counts
-- a buyer the same way (tests/plugins/redis/ratelimit_test.cpp runs both);
-- the string makes a subject's first request one SET ... NX.

local limit, window_ms = tonumber(ARGV[1]), ARGV[2]
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
-- Numbers go to Redis as "%d" strings: Lua's default %.14g would round them.
local stamp = string.format('%d', now_us)

local earlier = redis.pcall('SET', KEYS[1], stamp, 'PX', window_ms, 'NX', 'GET')
if not earlier then return 1 end  -- none within the window: this one is the first
if type(earlier) == 'table' then
  -- WRONGTYPE: the sorted set of a subject's second request on (below);
  -- anything else (out of memory) is the caller's error.
  if not string.find(earlier.err, 'WRONGTYPE', 1, true) then return earlier end
else
  if not string.match(earlier, '^%d+$') then return redis.error_reply('not a rate window: ' .. KEYS[1]) end
  if limit <= 1 then return 0 end
  redis.call('DEL', KEYS[1])
  redis.call('ZADD', KEYS[1], earlier, earlier .. ':0', stamp, stamp .. ':1')
  redis.call('PEXPIRE', KEYS[1], window_ms)
  return 1
end
-- Entries that left the window are dropped only when the count reaches the
-- limit: below it, the request is allowed whether or not some are stale, and
-- the set never holds more than `limit` members.
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now_us - tonumber(window_ms) * 1000))
  count = redis.call('ZCARD', KEYS[1])
end
if count >= limit then return 0 end
-- Within one microsecond the count differs between calls, so members are unique.
redis.call('ZADD', KEYS[1], stamp, stamp .. ':' .. count)
redis.call('PEXPIRE', KEYS[1], window_ms)
return 1
