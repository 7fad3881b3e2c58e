-- stock_probe.lua: one stock shard of a product, as a buyer whose home shard
-- ran out sees it: how much it holds, and the transfers out of it that were
-- left unfinished (their process died between its steps) for the caller to
-- finish. Reads only.
--
-- KEYS[1] fs:{p:N:s:J}:sale   hash: remaining, start_ms, end_ms
-- KEYS[2] fs:{p:N:s:J}:xfer   hash: transfer_id -> "<to_shard>:<count>:<started_ms>"
-- ARGV    lease_ms: a transfer older than this is no longer its process's to finish
--
-- Returns {remaining or false (no stock loaded), transfer_id, to_shard, count, ...}
-- listing the transfers older than the lease.

local remaining = redis.call('HGET', KEYS[1], 'remaining')
local out = {remaining and tonumber(remaining) or false}
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
    end
  end
end
return out
