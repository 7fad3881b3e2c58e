-- outbox_ack.lua: mark outbox entries relayed, then remove every entry the
-- group is done with. No MAXLEN trimming is used anywhere: an entry leaves the
-- stream only once it is known to be relayed.
--
-- KEYS[1] the outbox stream
-- ARGV    group, id, id, ...
--
-- Returns the number of entries acknowledged.
--
-- Entries leave by one XTRIM MINID per call rather than one XDEL per id: an
-- XDEL only flags the entry inside its node, and readers then step over the
-- flagged entries on every lookup. The trim point is the group's oldest
-- pending entry, or just past its last delivered one when nothing is pending:
-- below it every entry was delivered (ids under last-delivered-id) and is no
-- longer pending, so it was acked (or dead-lettered, which copies it aside
-- first). An unknown id acks nothing and moves nothing. The stream has this
-- one consumer group; another group reading it would lose entries it had not
-- read yet.

local group = ARGV[1]
local acked = 0
if #ARGV > 1 then acked = redis.call('XACK', KEYS[1], group, unpack(ARGV, 2)) end

local floor
local pending = redis.call('XPENDING', KEYS[1], group)
if pending[1] > 0 then
  floor = pending[2]
else
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local fields = {}
    for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
    if fields['name'] == group then
      local ms, seq = string.match(fields['last-delivered-id'], '^(%d+)-(%d+)$')
      floor = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
    end
  end
end
if floor then redis.call('XTRIM', KEYS[1], 'MINID', floor) end
return acked
