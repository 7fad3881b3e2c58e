-- outbox_dead_letter.lua: move one outbox entry aside (an entry the reader
-- cannot decode), so it is counted and kept, never silently dropped.
--
-- KEYS[1] the outbox stream
-- KEYS[2] its dead-letter stream (<stream>:dead)
-- ARGV    group, id, reason, deliveries
--
-- Returns 1 when the entry was moved, 0 when it no longer exists (it is then
-- only acknowledged). An entry of several events (an admission batch) becomes
-- one dead letter per event (lib/dead_letter.lua, shared with
-- outbox_claim.lua).

--#include lib/dead_letter.lua

local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entry == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
dead_letter(KEYS[2], ARGV[2], entry[1][2], ARGV[3], ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
