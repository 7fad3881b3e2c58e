-- outbox_retire.lua: on a cluster, deletes a stock shard's outbox stream once
-- nothing can be read from it or appended to it any more, so the registry
-- (<order.event.stream>:live_streams) can forget it and readers stop visiting
-- it. Runs in the shard's slot, so the checks and the delete are one step.
--
-- KEYS[1] the shard's outbox stream  <order.event.stream>{<tag>}
-- KEYS[2] its dead letters           <stream>:dead
-- KEYS[3] its replay counter         <stream>:dead:replayed
-- KEYS[4] the shard's sale hash      fs:{<tag>}:sale
-- ARGV[1] the consumer group
--
-- Returns {1, replays} when the stream was retired (the stream with its
-- group, its empty dead letters and its replay counter deleted; replays: what
-- that counter held, which the caller carries over to the cluster-wide total
-- of retired streams), {0, 0} when it is still in use:
--   - the sale hash exists: admit.lua may still append (a new sale is
--     registered again by the preload before its stock is loaded);
--   - the stream holds entries, or the group has entries pending: events not
--     yet relayed or acknowledged;
--   - there are dead letters: an operator may still list and replay them.

local in_use = {0, 0}
if redis.call('EXISTS', KEYS[4]) == 1 then return in_use end
if redis.call('XLEN', KEYS[2]) > 0 then return in_use end
if redis.call('XLEN', KEYS[1]) > 0 then return in_use end
local pending = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(pending) == 'table' and pending.err == nil and tonumber(pending[1]) > 0 then return in_use end
local replays = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return {1, replays}
