-- outbox_dead_letter.lua: move one outbox entry aside (an entry the reader
-- cannot decode), so it is counted and kept, never silently dropped.
--
-- KEYS[1] the outbox stream
-- KEYS[2] its dead-letter stream (<stream>:dead)
-- ARGV    group, id, reason, deliveries
--
-- Returns 1 when the entry was moved, 0 when it no longer exists (it is then
-- only acknowledged). An entry of several events (an admission batch) becomes
-- one dead letter per event, so that each is listed, looked at and replayed
-- on its own; outbox_claim.lua splits the same way.

local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
local fields = entry[1][2]
local events = 0
for i = 1, #fields, 2 do
  if fields[i] == 'event' then events = events + 1 end
end
if events <= 1 then
  redis.call('XADD', KEYS[2], '*', 'origin_id', ARGV[2], 'reason', ARGV[3], 'deliveries', ARGV[4], unpack(fields))
else
  for i = 1, #fields, 2 do
    if fields[i] == 'event' then
      redis.call('XADD', KEYS[2], '*', 'origin_id', ARGV[2], 'reason', ARGV[3], 'deliveries', ARGV[4], 'event',
                 fields[i + 1])
    end
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
