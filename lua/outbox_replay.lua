-- outbox_replay.lua: put one dead letter back into the outbox as a new entry
-- (read after the entries already waiting, its deliveries counted from 1
-- again), remove it from the dead letters and count the replay, in one step.
--
-- KEYS[1] the outbox stream
-- KEYS[2] its dead-letter stream (<stream>:dead)
-- KEYS[3] the replay counter (<stream>:dead:replayed)
-- ARGV    the dead letter's id
--
-- Returns the new entry's id, or false when there is no such dead letter
-- (replayed already: a second replay changes nothing). The fields the dead
-- letter added (origin_id, reason, deliveries) stay behind; the rest, the
-- event as admitted (or as it failed to decode), goes back.

local entry = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #entry == 0 then return false end
local copy = {}
local fields = entry[1][2]
for i = 1, #fields, 2 do
  local name = fields[i]
  if name ~= 'origin_id' and name ~= 'reason' and name ~= 'deliveries' then
    copy[#copy + 1] = name
    copy[#copy + 1] = fields[i + 1]
  end
end
if #copy == 0 then copy = {'empty', ''} end
local id = redis.call('XADD', KEYS[1], '*', unpack(copy))
redis.call('XDEL', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[3])
return id
