-- admit.lua: the one atomic admission step of the redis family.
-- Every key below carries the product's hash tag {p:<product_id>}, so the
-- script runs unchanged on a Redis Cluster (see plugins/redis/README.md).
--
-- KEYS[1] fs:{p:N}:sale         hash: remaining, start_ms, end_ms (set by load_stock.lua)
-- KEYS[2] fs:{p:N}:lock:<user>  string: request_id holding the user's purchase
-- KEYS[3] fs:{p:N}:idem:<key>   string: "<user_id>:<quantity>:<request_id>" (ignored when ARGV[7] == "0")
-- KEYS[4] the outbox stream     XADDed with the OrderEvent fields
-- ARGV    request_id, user_id, product_id, quantity, unit_price, accepted_ms, has_idempotency_key ("1"/"0")
--
-- Returns {outcome, detail}:
--   {"ok", request_id}                  accepted: stock decremented, lock taken, key stored, event appended
--   {"replay", earlier_request_id}      idempotency key seen before with the same user and quantity
--   {"idempotency_key_reused", ""} {"not_preloaded", ""} {"sale_not_active", ""}
--   {"already_purchased", ""} {"sold_out", ""}
--   {"wrong_type", key}                 a key holds a value of another type; nothing was written
--
-- Redis does not roll back a script, so everything is validated before the
-- first write; the writes that follow cannot fail on a valid key type (an
-- out-of-memory refusal can only hit the first write, before anything changed).
-- Locks and idempotency keys live as long as the sale hash (same PTTL), so
-- they all expire together.

local request_id, user_id, product_id = ARGV[1], ARGV[2], ARGV[3]
local quantity = tonumber(ARGV[4])
local has_key = ARGV[7] == '1'

local function type_is(key, wanted)
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == wanted
end

for i, wanted in ipairs({'hash', 'string', 'string', 'stream'}) do
  if (i ~= 3 or has_key) and not type_is(KEYS[i], wanted) then
    return {'wrong_type', KEYS[i]}
  end
end

if has_key then
  local earlier = redis.call('GET', KEYS[3])
  if earlier then
    local user, qty, id = string.match(earlier, '^([^:]*):([^:]*):(.*)$')
    if user == user_id and tonumber(qty) == quantity then return {'replay', id} end
    return {'idempotency_key_reused', ''}
  end
end

local sale = redis.call('HMGET', KEYS[1], 'remaining', 'start_ms', 'end_ms')
if not sale[1] then return {'not_preloaded', ''} end
local remaining, start_ms, end_ms = tonumber(sale[1]), tonumber(sale[2]), tonumber(sale[3])
if not remaining or not start_ms or not end_ms or remaining ~= math.floor(remaining) then
  return {'wrong_type', KEYS[1]}  -- HINCRBY below would fail half-way
end

local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if now_ms < start_ms or now_ms >= end_ms then return {'sale_not_active', ''} end

if redis.call('EXISTS', KEYS[2]) == 1 then return {'already_purchased', ''} end
if remaining < quantity then return {'sold_out', ''} end

local ttl = redis.call('PTTL', KEYS[1])
local px = string.format('%d', ttl)

-- Writes: nothing below can fail on a validated key.
redis.call('HINCRBY', KEYS[1], 'remaining', -quantity)
if ttl > 0 then
  redis.call('SET', KEYS[2], request_id, 'PX', px)
else
  redis.call('SET', KEYS[2], request_id)
end
if has_key then
  local value = user_id .. ':' .. ARGV[4] .. ':' .. request_id
  if ttl > 0 then
    redis.call('SET', KEYS[3], value, 'PX', px)
  else
    redis.call('SET', KEYS[3], value)
  end
end
redis.call('XADD', KEYS[4], '*',
  'request_id', request_id, 'user_id', user_id, 'product_id', product_id,
  'quantity', ARGV[4], 'unit_price', ARGV[5], 'accepted_ms', ARGV[6])
return {'ok', request_id}
