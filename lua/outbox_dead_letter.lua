-- outbox_dead_letter.lua: move one outbox entry aside (an entry the reader
-- cannot decode), so it is counted and kept, never silently dropped.
--
-- KEYS[1] the outbox stream
-- KEYS[2] its dead-letter stream (<stream>:dead)
-- ARGV    group, id, reason, deliveries
--
-- Returns 1 when the entry was moved, 0 when it no longer exists (it is then
-- only acknowledged).

local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
local copy = {'origin_id', ARGV[2], 'reason', ARGV[3], 'deliveries', ARGV[4]}
for _, v in ipairs(entry[1][2]) do copy[#copy + 1] = v end
redis.call('XADD', KEYS[2], '*', unpack(copy))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
