-- admit.lua: the atomic admission step of the redis family, for a batch of
-- one or more buyers of one stock shard, judged one after the other exactly
-- as if each had a script call of its own.
--
-- Every key carries the shard's hash tag {p:<product_id>} (or {p:N:s:i}: one
-- Cluster slot), except a buyer's rate window, which is only given on one
-- Redis.
--
-- KEYS[1] fs:{p:N}:sale         hash: remaining, start_ms, end_ms, expires_ms (set by load_stock.lua)
-- KEYS[2] the outbox stream     one entry per call that accepted anyone: an event field per accepted buyer
-- KEYS[3] fs:{p:N}:paused       string: present while an operator has the sale paused (no expiry)
-- then three keys per buyer:
--   fs:{p:N}:lock:<user>        string: request_id holding the user's purchase
--   fs:{p:N}:idem:<key>         string: "<user_id>:<quantity>:<request_id>" (untouched without a key)
--   fs:rl:{<subject>}           the sliding-window log of lua/ratelimit.lua (untouched unless counted;
--                               any key of the slot stands in for it then)
-- ARGV[1], ARGV[2]  limit, window_ms of the rate windows
-- then five arguments per buyer: request_id, user_id, quantity, flags, event
--   flags: two characters, has an idempotency key ('1'/'0'), counts its rate window ('1'/'0')
--   event: the OrderEvent in the wire form of core's event_codec.h, which the outbox reader decodes
--
-- Returns an array with one outcome per buyer, in order:
--   "ok"                      accepted: stock decremented, lock taken, key stored, event appended
--   "replay:<request_id>"     the idempotency key was seen before with the same user and quantity
--   "rate_limited"            the subject made `limit` requests within the window; only counted
--   "idempotency_key_reused" "sale_paused" "not_preloaded" "sale_not_active" "already_purchased" "sold_out"
--   "wrong_type:<key>"        a key holds a value of another type; nothing of this buyer was written
-- or an error reply: a write was refused (out of memory), and then nothing at all was written.
--
-- A counted buyer is counted first, exactly as ratelimit.lua counts (one
-- round trip per buy instead of two), so a refused or replayed buy still
-- counts, as it does behind a separate rate-limit call. A window key of
-- another type is skipped (fail-open, the host's policy for a failing
-- limiter).
--
-- Redis does not roll back a script, and it refuses a write for memory only
-- at a script's first write, so a refused write here is the batch's first and
-- nothing was written. A buyer's writes that can meet a key of another type
-- (the window, the lock) are SET ... GET, which then refuses and writes
-- nothing; the others cannot fail on the keys the reads validated (the
-- stream's type is read once, up front). The sale hash is read once, and at the end one XADD
-- appends every accepted buyer's event (in order, each an `event` field of
-- one entry) and one HINCRBY takes what the batch sold. Locks and
-- idempotency keys expire at the sale hash's own expiry instant, so they all
-- expire together.
--
-- Each call and each redis.call costs Redis far more than the command itself
-- (arguments and reply cross between Lua and Redis): that is why buyers come
-- in batches, and why the common path (a buyer's first request, with no lock)
-- is two redis.calls, each a SET ... NX GET that checks and writes at once:
-- the rate window's and the lock's.

local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local now_ms = math.floor(now_us / 1000)
local stamp = string.format('%d', now_us)
local limit, window_ms = tonumber(ARGV[1]), ARGV[2]
local buyers = (#KEYS - 3) / 3

local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

-- The shard's own state, read once: `sale_refusal` is what every buyer past
-- its rate window and idempotency key is told when the sale cannot sell (a
-- pause first, whatever the hash holds).
local paused = redis.call('EXISTS', KEYS[3]) == 1
local stream_type = redis.call('TYPE', KEYS[2])['ok']
local stream_refusal
if stream_type ~= 'stream' and stream_type ~= 'none' then stream_refusal = 'wrong_type:' .. KEYS[2] end
local sale_refusal, remaining, unit, expiry
local sale = redis.pcall('HMGET', KEYS[1], 'remaining', 'start_ms', 'end_ms', 'expires_ms')
if failed(sale) then
  sale_refusal = 'wrong_type:' .. KEYS[1]
elseif not sale[1] then
  sale_refusal = 'not_preloaded'
else
  remaining = tonumber(sale[1])
  local start_ms, end_ms = tonumber(sale[2]), tonumber(sale[3])
  if not remaining or not start_ms or not end_ms or remaining ~= math.floor(remaining) or
      (sale[4] and not tonumber(sale[4])) then
    sale_refusal = 'wrong_type:' .. KEYS[1]  -- HINCRBY or SET below would fail half-way
  elseif now_ms < start_ms or now_ms >= end_ms then
    sale_refusal = 'sale_not_active'
  else
    -- The sale hash's expiry instant, recorded by load_stock.lua ("0":
    -- never); a hash loaded without it, or alive past it (its TTL set by
    -- hand), is asked for its remaining time.
    unit, expiry = 'PXAT', sale[4]
    if not expiry or (tonumber(expiry) > 0 and tonumber(expiry) <= now_ms) then
      unit, expiry = 'PX', redis.call('PTTL', KEYS[1])
    end
    if tonumber(expiry) <= 0 then unit = nil end
  end
end
if paused then sale_refusal = 'sale_paused' end

local sold = 0
local replayed_key, replayed_value  -- a replayed buyer's idempotency key and what it holds
local events = {}  -- XADD's arguments: 'event', <event>, ... of every accepted buyer
local write_error  -- the batch's first write refused: nothing was written

-- The buyer's rate window, counted as ratelimit.lua counts it (kept in step:
-- tests/plugins/redis/ratelimit_test.cpp runs both): while the subject made
-- one request within the window, a string holding that request's time and
-- expiring with it, so a subject's first request (the common case) costs one
-- SET ... NX; from its second, a sorted set of times, here with the
-- request_id as member. False when the buyer is limited (or the write was
-- refused: write_error).
local function count_log(window, member)
  local count = redis.pcall('ZCARD', window)
  if type(count) ~= 'number' then return true end  -- a window of another type: skipped
  if count >= limit then
    redis.call('ZREMRANGEBYSCORE', window, '-inf', string.format('%d', now_us - tonumber(window_ms) * 1000))
    count = redis.call('ZCARD', window)
  end
  if count >= limit then return false end
  local added = redis.pcall('ZADD', window, stamp, member)
  if failed(added) then
    write_error = added
    return false
  end
  redis.call('PEXPIRE', window, window_ms)
  return true
end

local function count_window(window, member)
  local earlier = redis.pcall('SET', window, stamp, 'PX', window_ms, 'NX', 'GET')
  if not earlier then return true end  -- none within the window: this one is the first
  if failed(earlier) then
    if string.find(earlier.err, 'WRONGTYPE', 1, true) then return count_log(window, member) end
    write_error = earlier
    return false
  end
  if not string.match(earlier, '^%d+$') then return true end  -- not a window this family wrote: skipped
  if limit <= 1 then return false end
  redis.call('DEL', window)
  redis.call('ZADD', window, earlier, earlier .. ':0', stamp, member)
  redis.call('PEXPIRE', window, window_ms)
  return true
end

local function set_expiring(key, value)
  if unit then return redis.pcall('SET', key, value, unit, expiry) end
  return redis.pcall('SET', key, value)
end

-- Takes the buyer's lock if it is free: false when taken, the holder's
-- request_id when held, an error for a key of another type (nothing written).
local function take_lock(lock, request_id)
  if unit then return redis.pcall('SET', lock, request_id, unit, expiry, 'NX', 'GET') end
  return redis.pcall('SET', lock, request_id, 'NX', 'GET')
end

local function admit(lock, idem, window, request_id, user_id, quantity_text, flags, event)
  local quantity = tonumber(quantity_text)
  local has_key, counted = string.byte(flags, 1) == 49, string.byte(flags, 2) == 49
  if counted and not count_window(window, request_id) then
    if write_error then return nil end
    return 'rate_limited'
  end

  if has_key then
    local earlier = redis.pcall('GET', idem)
    if failed(earlier) then return 'wrong_type:' .. idem end
    if earlier then
      local user, qty, id = string.match(earlier, '^([^:]*):([^:]*):(.*)$')
      if user == user_id and tonumber(qty) == quantity then
        replayed_key, replayed_value = idem, earlier
        return 'replay:' .. id
      end
      return 'idempotency_key_reused'
    end
  end

  if sale_refusal then return sale_refusal end
  if remaining - sold < quantity or stream_refusal then
    -- Refused, but a buyer who holds the lock is told so first.
    if redis.call('EXISTS', lock) == 1 then
      if redis.call('TYPE', lock)['ok'] ~= 'string' then return 'wrong_type:' .. lock end
      return 'already_purchased'
    end
    if remaining - sold < quantity then return 'sold_out' end
    return stream_refusal
  end

  local holder = take_lock(lock, request_id)
  if failed(holder) then
    if string.find(holder.err, 'WRONGTYPE', 1, true) then return 'wrong_type:' .. lock end
    write_error = holder
    return nil
  end
  if holder then return 'already_purchased' end
  if has_key then set_expiring(idem, user_id .. ':' .. quantity_text .. ':' .. request_id) end
  sold = sold + quantity
  events[#events + 1] = 'event'
  events[#events + 1] = event
  return 'ok'
end

local outcomes = {}
for buyer = 0, buyers - 1 do
  local k, a = 3 + 3 * buyer, 2 + 5 * buyer
  outcomes[buyer + 1] = admit(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3],
                              ARGV[a + 4], ARGV[a + 5])
  if write_error then break end
end
if write_error then return write_error end
if sold > 0 then
  redis.call('XADD', KEYS[2], '*', unpack(events))
  redis.call('HINCRBY', KEYS[1], 'remaining', -sold)
elseif replayed_key then
  -- A replay is confirmed by a WAIT on this call's connection, which counts
  -- that connection's writes only: were nothing written here, it would
  -- confirm an offset older than the replayed admission (made on another
  -- connection, perhaps not on any replica yet). The key rewritten as it is
  -- puts a write after it. Refused (out of memory), it was the call's first
  -- write: nothing was written and the batch fails.
  local rewritten = redis.pcall('SET', replayed_key, replayed_value, 'KEEPTTL')
  if failed(rewritten) then return rewritten end
end
return outcomes
