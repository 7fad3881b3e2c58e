-- return_stock.lua: give a cancelled order's quantity back to its product's
-- stock, at most once per order however often it is called, and release the
-- buyer's lock if it still holds the order's request_id. An operator's
-- top-up is added the same way, once per top-up, with no lock to release.
--
-- KEYS[1] fs:{p:N}:sale              hash: remaining, start_ms, end_ms
-- KEYS[2] fs:{p:N}:ret:<order_id>    string marker: this order's quantity came back
--      or fs:{p:N}:topup:<top_up_id> string marker: this top-up was added
-- KEYS[3] fs:{p:N}:lock:<user>       string: request_id holding the user's purchase (an order only)
-- ARGV    quantity, and with KEYS[3] the order's request_id
--
-- Returns 1 when the quantity was added, 0 when it was added before, -1 when
-- the product holds no stock (never preloaded, or expired): then nothing is
-- added and no marker written, and the return, still pending in the persist
-- stage (which a preload counts as held), comes again once stock is loaded.
-- The lock is released either way. A key
-- holding a value of another type gives a WRONGTYPE error reply naming it,
-- and nothing is written.
--
-- The marker lives exactly as long as the stock it protects (it expires at
-- the same instant, or never when the stock never does): stock loaded again
-- counts from the persist stage, where a return not yet complete still holds
-- its quantity, so that return must count once more.
--
-- Redis does not roll back a script, so every key is checked before the first
-- write, and the first write is the HINCRBY: refused (out of memory, or an
-- overflow), it leaves nothing written.

local function wrong_type(key, expected)
  local found = redis.call('TYPE', key)['ok']
  if found == 'none' or found == expected then return nil end
  return redis.error_reply('WRONGTYPE return_stock: ' .. key .. ' holds a ' .. found .. ', not a ' .. expected)
end

local marker, lock = KEYS[2], KEYS[3]
local wrong = wrong_type(KEYS[1], 'hash') or wrong_type(marker, 'string') or (lock and wrong_type(lock, 'string'))
if wrong then return wrong end
local remaining = redis.call('HGET', KEYS[1], 'remaining')
if remaining and not string.match(remaining, '^-?%d+$') then
  return redis.error_reply('WRONGTYPE return_stock: remaining of ' .. KEYS[1] .. ' is not an integer')
end

local returned = 0
if not remaining then
  returned = -1
elseif redis.call('EXISTS', marker) == 0 then
  -- The hash's own expiry instant (Redis 7.0); 6.2 has only the PTTL, which
  -- the marker's SET PX may outlive by the millisecond the script runs on.
  local expiry = {'PXAT', redis.pcall('PEXPIRETIME', KEYS[1])}
  if type(expiry[2]) ~= 'number' then expiry = {'PX', redis.call('PTTL', KEYS[1])} end
  redis.call('HINCRBY', KEYS[1], 'remaining', ARGV[1])
  if expiry[2] > 0 then
    redis.call('SET', marker, '1', expiry[1], expiry[2])
  else
    redis.call('SET', marker, '1')
  end
  returned = 1
end
if lock and redis.call('GET', lock) == ARGV[2] then redis.call('DEL', lock) end
return returned
