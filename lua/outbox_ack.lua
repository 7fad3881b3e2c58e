-- outbox_ack.lua: mark outbox entries relayed. An entry is deleted from the
-- stream only if it was pending in the group, so an id that was never
-- delivered (or is unknown) is left alone and nothing unrelayed is dropped.
-- No MAXLEN trimming is used anywhere: acked entries are removed here instead.
--
-- KEYS[1] the outbox stream
-- ARGV    group, id, id, ...
--
-- Returns the number of entries acknowledged.

local acked = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    acked = acked + 1
  end
end
return acked
