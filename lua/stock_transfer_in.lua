-- stock_transfer_in.lua: the second step of a stock transfer between shards
-- (stock_transfer_out.lua): add the units taken out of the source shard to
-- this one, at most once per transfer however often it is called.
--
-- KEYS[1] fs:{p:N:s:H}:sale              hash: remaining, start_ms, end_ms, moves (stock_probe.lua)
-- KEYS[2] fs:{p:N:s:H}:xin:<transfer_id> string marker: this transfer was added
-- ARGV    count
--
-- Returns 1 when the units were added, 0 when they were added before, -1 when
-- this shard holds no stock (not loaded yet, or expired): the caller then
-- keeps the transfer's record, which expires with the source shard's stock.
-- The marker lives as long as this shard's stock.

if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return -1 end
redis.call('HINCRBY', KEYS[1], 'remaining', tonumber(ARGV[1]))
redis.call('HINCRBY', KEYS[1], 'moves', 1)
if ttl > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ttl)
else
  redis.call('SET', KEYS[2], '1')
end
return 1
