-- load_stock.lua: preload a product's sellable stock and sale window, unless
-- the product already has a live stock level (replacing it would resell the
-- admissions in flight, which are not yet persisted).
--
-- KEYS[1] fs:{p:N}:sale   hash: remaining, start_ms, end_ms
-- ARGV    sellable, start_ms, end_ms, ttl_seconds (0 = no expiry)
--
-- Returns 1 when the stock was loaded, 0 when the key existed (nothing changed).

if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'remaining', ARGV[1], 'start_ms', ARGV[2], 'end_ms', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
