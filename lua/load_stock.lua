-- load_stock.lua: preload a product's sellable stock and sale window, unless
-- the product already has a live stock level (replacing it would resell the
-- admissions in flight, which are not yet persisted).
--
-- KEYS[1] fs:{p:N}:sale   hash: remaining, start_ms, end_ms, expires_ms
-- ARGV    sellable, start_ms, end_ms, ttl_seconds (0 = no expiry)
--
-- expires_ms is the instant (Redis' clock, ms) the hash expires at, "0" when
-- it never does: admit.lua gives a buyer's lock and idempotency key that same
-- instant without asking the hash for its TTL. This script is the only one
-- that sets the hash's expiry, so the two stay equal.
--
-- Returns 1 when the stock was loaded, 0 when the key existed (nothing changed).

if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl, expires_ms = tonumber(ARGV[4]), '0'
if ttl > 0 then
  local now = redis.call('TIME')
  expires_ms = string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl * 1000)
end
redis.call('HSET', KEYS[1], 'remaining', ARGV[1], 'start_ms', ARGV[2], 'end_ms', ARGV[3], 'expires_ms', expires_ms)
if ttl > 0 then redis.call('PEXPIREAT', KEYS[1], expires_ms) end
return 1
