-- compensate.lua: give a failed admission's stock back, at most once per
-- request_id however often it is called.
--
-- KEYS[1] fs:{p:N}:sale              hash: remaining, start_ms, end_ms
-- KEYS[2] fs:{p:N}:comp:<request_id> string marker: this request was compensated
-- ARGV    quantity, marker_ttl_ms (used when the sale hash has no expiry of its own or is gone)
--
-- Returns 1 when the stock was restored, 0 when it was restored before or the
-- product holds no stock (never preloaded or expired: a later preload counts
-- from the persisted orders, which already leaves this request's units out).
--
-- The marker lives exactly as long as the stock it protects (same PTTL), so a
-- redelivered failure can never restore the same units twice.

local ttl = redis.call('PTTL', KEYS[1])
local marker_ttl = ttl
if marker_ttl <= 0 then marker_ttl = tonumber(ARGV[2]) end
if ttl == -1 then
  if not redis.call('SET', KEYS[2], '1', 'NX') then return 0 end
else
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', marker_ttl) then return 0 end
end
if ttl == -2 then return 0 end
redis.call('HINCRBY', KEYS[1], 'remaining', tonumber(ARGV[1]))
return 1
