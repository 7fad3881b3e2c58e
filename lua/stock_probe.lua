-- stock_probe.lua: one stock shard of a product, as a buyer whose home shard
-- ran out sees it: how much it holds, and the transfers out of it that were
-- left unfinished (their process died between its steps) for the caller to
-- finish. Reads only.
--
-- KEYS[1] fs:{p:N:s:J}:sale   hash: remaining, start_ms, end_ms
-- KEYS[2] fs:{p:N:s:J}:xfer   hash: transfer_id -> "<to_shard>:<count>:<started_ms>"
-- ARGV    lease_ms: a transfer older than this is no longer its process's to finish
--
-- Returns {remaining or false (no stock loaded), moves, in_flight,
-- transfer_id, to_shard, count, ...}: moves counts the transfers into and
-- out of this shard ever (two probes that see the same count saw no
-- transfer in between), in_flight the transfers out of it still within the
-- lease (their units are on their way to another shard), and the list names
-- those older than the lease.

local sale = redis.call('HMGET', KEYS[1], 'remaining', 'moves')
local out = {sale[1] and tonumber(sale[1]) or false, tonumber(sale[2] or '0'), 0}
local entries = redis.call('HGETALL', KEYS[2])
if #entries > 0 then
  local now = redis.call('TIME')
  local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local lease = tonumber(ARGV[1])
  for i = 1, #entries, 2 do
    local to, count, started = string.match(entries[i + 1], '^(%d+):(%d+):(%d+)$')
    if to and now_ms - tonumber(started) >= lease then
      out[#out + 1] = entries[i]
      out[#out + 1] = tonumber(to)
      out[#out + 1] = tonumber(count)
    else
      out[3] = out[3] + 1
    end
  end
end
return out
