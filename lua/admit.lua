-- admit.lua: the one atomic admission step of the redis family.
-- KEYS[1..3] and KEYS[5] carry the product's hash tag {p:<product_id>} (one
-- Cluster slot per product); KEYS[6], when given, is the rate-limit window of
-- the buyer.
--
-- KEYS[1] fs:{p:N}:sale         hash: remaining, start_ms, end_ms, expires_ms (set by load_stock.lua)
-- KEYS[2] fs:{p:N}:lock:<user>  string: request_id holding the user's purchase
-- KEYS[3] fs:{p:N}:idem:<key>   string: "<user_id>:<quantity>:<request_id>" (ignored when ARGV[4] == "0")
-- KEYS[4] the outbox stream     XADDed with request_id and event (below)
-- KEYS[5] fs:{p:N}:paused       string: present while an operator has the sale paused (no expiry)
-- KEYS[6] fs:rl:{<subject>}     optional: the sliding-window log of lua/ratelimit.lua
-- ARGV    request_id, user_id, quantity, has_idempotency_key ("1"/"0"), event (the OrderEvent in the
--         wire form of core's event_codec.h, which the outbox reader decodes), and with KEYS[6]: limit, window_ms
--
-- Returns "ok" (a bulk string) when accepted: stock decremented, lock taken,
-- key stored, event appended; the request_id is the caller's own. Otherwise
-- {outcome, detail}:
--   {"replay", earlier_request_id}      idempotency key seen before with the same user and quantity
--   {"rate_limited", ""}                the subject made `limit` requests within the window; only counted
--   {"idempotency_key_reused", ""} {"sale_paused", ""} {"not_preloaded", ""} {"sale_not_active", ""}
--   {"already_purchased", ""} {"sold_out", ""}
--   {"wrong_type", key}                 a key holds a value of another type; nothing was written
--   an error reply                      the outbox XADD was refused (out of memory); nothing was written
--
-- With KEYS[6] the script first counts the request exactly as ratelimit.lua
-- does (one round trip per buy instead of two), so a refused or replayed buy
-- still counts, as it does behind a separate rate-limit call. A window key of
-- another type is skipped (fail-open, the host's policy for a failing limiter).
--
-- Redis does not roll back a script, so the admission's reads come first and
-- its first write is the XADD, under pcall: when it fails (a stream key of
-- another type, or out of memory: only a script's first write can hit the
-- memory limit) nothing of the admission was written. The writes after it
-- cannot fail on the keys the reads validated. Locks and idempotency keys
-- expire at the sale hash's own expiry instant, so they all expire together.
--
-- Every redis.call costs Redis far more than the command itself (arguments
-- and reply cross between Lua and Redis), so the common path (a buyer with no
-- lock, window or pause) asks as little as it can: one EXISTS for the pause
-- flag, the lock and the window together, and the expiry from the sale hash
-- read it needs anyway. The rarer paths ask again, key by key.

local request_id, user_id = ARGV[1], ARGV[2]
local quantity = tonumber(ARGV[3])
local has_key = ARGV[4] == '1'
local now = redis.call('TIME')

local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

-- How many of the pause flag, the lock and the window exist; the window's
-- share is known from its ZCARD (an empty sorted set does not exist), so
-- `others` counts the pause flag and the lock.
local others
if KEYS[6] then
  others = redis.call('EXISTS', KEYS[5], KEYS[2], KEYS[6])
else
  others = redis.call('EXISTS', KEYS[5], KEYS[2])
end

if KEYS[6] then
  -- Kept in step with ratelimit.lua (tests/plugins/redis/ratelimit_test.cpp runs both).
  local limit = tonumber(ARGV[6])
  local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local count = 0
  if others > 0 then count = redis.pcall('ZCARD', KEYS[6]) end
  if type(count) == 'number' then
    if count > 0 then others = others - 1 end
    if count >= limit then
      redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', string.format('%d', now_us - tonumber(ARGV[7]) * 1000))
      count = redis.call('ZCARD', KEYS[6])
    end
    if count >= limit then return {'rate_limited', ''} end
    local stamp = string.format('%d', now_us)
    redis.call('ZADD', KEYS[6], stamp, stamp .. ':' .. count)
    redis.call('PEXPIRE', KEYS[6], ARGV[7])
  else
    others = others - 1  -- a window of another type: skipped
  end
end

if has_key then
  local earlier = redis.pcall('GET', KEYS[3])
  if failed(earlier) then return {'wrong_type', KEYS[3]} end
  if earlier then
    local user, qty, id = string.match(earlier, '^([^:]*):([^:]*):(.*)$')
    if user == user_id and tonumber(qty) == quantity then return {'replay', id} end
    return {'idempotency_key_reused', ''}
  end
end

if others > 0 and redis.call('EXISTS', KEYS[5]) == 1 then return {'sale_paused', ''} end

local sale = redis.pcall('HMGET', KEYS[1], 'remaining', 'start_ms', 'end_ms', 'expires_ms')
if failed(sale) then return {'wrong_type', KEYS[1]} end
if not sale[1] then return {'not_preloaded', ''} end
local remaining, start_ms, end_ms = tonumber(sale[1]), tonumber(sale[2]), tonumber(sale[3])
if not remaining or not start_ms or not end_ms or remaining ~= math.floor(remaining) or
    (sale[4] and not tonumber(sale[4])) then
  return {'wrong_type', KEYS[1]}  -- HINCRBY or SET below would fail half-way
end

local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if now_ms < start_ms or now_ms >= end_ms then return {'sale_not_active', ''} end

if others > 0 then  -- the lock, then: the pause was ruled out above
  if redis.call('TYPE', KEYS[2])['ok'] ~= 'string' then return {'wrong_type', KEYS[2]} end
  return {'already_purchased', ''}
end
if remaining < quantity then return {'sold_out', ''} end

-- The sale hash's expiry instant, recorded by load_stock.lua ("0": never); a
-- hash loaded without it, or alive past it (its TTL set by hand), is asked
-- for its remaining time.
local unit, expiry = 'PXAT', sale[4]
if not expiry or (tonumber(expiry) > 0 and tonumber(expiry) <= now_ms) then
  unit, expiry = 'PX', redis.call('PTTL', KEYS[1])
end
local expires = tonumber(expiry) > 0

local appended = redis.pcall('XADD', KEYS[4], '*', 'request_id', request_id, 'event', ARGV[5])
if failed(appended) then
  if string.find(appended.err, 'WRONGTYPE', 1, true) then return {'wrong_type', KEYS[4]} end
  return appended
end
redis.call('HINCRBY', KEYS[1], 'remaining', '-' .. ARGV[3])
if expires then
  redis.call('SET', KEYS[2], request_id, unit, expiry)
else
  redis.call('SET', KEYS[2], request_id)
end
if has_key then
  local value = user_id .. ':' .. ARGV[3] .. ':' .. request_id
  if expires then
    redis.call('SET', KEYS[3], value, unit, expiry)
  else
    redis.call('SET', KEYS[3], value)
  end
end
return 'ok'
