-- Copies the outbox entry `id` (its `fields`) to the dead-letter stream
-- `dead` with origin_id, reason and deliveries in front of its own fields. An
-- entry of several events (an admission batch) becomes one dead letter per
-- event, so that each is listed, looked at and replayed on its own.
local function dead_letter(dead, id, fields, reason, deliveries)
  local events = 0
  for i = 1, #fields, 2 do
    if fields[i] == 'event' then events = events + 1 end
  end
  if events <= 1 then
    redis.call('XADD', dead, '*', 'origin_id', id, 'reason', reason, 'deliveries', deliveries, unpack(fields))
    return
  end
  for i = 1, #fields, 2 do
    if fields[i] == 'event' then
      redis.call('XADD', dead, '*', 'origin_id', id, 'reason', reason, 'deliveries', deliveries, 'event',
                 fields[i + 1])
    end
  end
end
