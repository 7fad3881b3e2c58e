-- outbox_claim.lua: take over outbox entries another reader (or this one)
-- left pending longer than the claim time, and move aside those delivered too
-- often. Runs as one step, so an entry is either handed out or dead-lettered.
--
-- KEYS[1] the outbox stream
-- KEYS[2] its dead-letter stream (<stream>:dead)
-- ARGV    group, consumer, min_idle_ms, cursor, count, max_deliveries
--
-- Returns {next_cursor, entries, dead_lettered} where entries is a list of
-- {id, {field, value, ...}, deliveries}; deliveries counts this delivery.
-- A dead-lettered entry is copied to KEYS[2] with origin_id, reason and
-- deliveries fields in front of its own, then acknowledged and deleted from
-- KEYS[1]; an entry of several events (an admission batch) becomes one dead
-- letter per event (lib/dead_letter.lua, shared with outbox_dead_letter.lua).

--#include lib/dead_letter.lua

local group, max = ARGV[1], tonumber(ARGV[6])
local claimed = redis.call('XAUTOCLAIM', KEYS[1], group, ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out, dead = {}, 0
for _, entry in ipairs(claimed[2]) do
  local id, fields = entry[1], entry[2]
  local pending = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  local deliveries = pending[1] and tonumber(pending[1][4]) or 1
  if deliveries > max then
    dead_letter(KEYS[2], id, fields, 'delivered ' .. (deliveries - 1) .. ' times without an ack', deliveries - 1)
    redis.call('XACK', KEYS[1], group, id)
    redis.call('XDEL', KEYS[1], id)
    dead = dead + 1
  else
    out[#out + 1] = {id, fields, deliveries}
  end
end
return {claimed[1], out, dead}
