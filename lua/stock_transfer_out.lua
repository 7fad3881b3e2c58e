-- stock_transfer_out.lua: the first step of moving stock from one shard of a
-- product to another (the buyer's home shard ran out): take units out of this
-- shard and record the transfer, in one step. The units are then in flight:
-- stock_transfer_in.lua adds them to the target shard once per transfer, and
-- only after that is the record deleted (HDEL), so a process that dies between
-- the steps leaves a record that stock_probe.lua hands to the next caller to
-- finish: no unit is lost and none counts twice.
--
-- KEYS[1] fs:{p:N:s:J}:sale   hash: remaining, start_ms, end_ms, moves (transfers counted, stock_probe.lua)
-- KEYS[2] fs:{p:N:s:J}:xfer   hash: transfer_id -> "<to_shard>:<count>:<started_ms>"
-- ARGV    transfer_id, to_shard, need (units the caller lacks, >= 1)
--
-- Takes half of what the shard holds (rounded up), at least `need`, at most
-- all of it. Returns the units taken: 0 when the shard holds none or has no
-- stock loaded; the recorded count again when this transfer_id was recorded
-- already (a retried call takes nothing more).

local recorded = redis.call('HGET', KEYS[2], ARGV[1])
if recorded then return tonumber(string.match(recorded, '^%d+:(%d+):')) end
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0')
if not remaining or remaining <= 0 then return 0 end
local need = tonumber(ARGV[3])
local count = math.min(remaining, math.max(need, math.ceil(remaining / 2)))
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('HINCRBY', KEYS[1], 'remaining', -count)
redis.call('HINCRBY', KEYS[1], 'moves', 1)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. count .. ':' .. string.format('%d', now_ms))
-- The record lives as long as the stock it came from.
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return count
