-- set_state.lua: write a request's state (pending, success or failed) with
-- its time to live.
--
-- KEYS[1] fs:{r:<request_id>}:state   hash: status, reason, order_id
-- ARGV    status, reason, order_id, ttl_seconds, only_if_absent ('1' or '0')
--
-- only_if_absent = '1' is how admission records `pending` after its script:
-- by then the consumer may already have written the final state, which a
-- late `pending` must not overwrite.
--
-- Returns 1 when written, 0 when only_if_absent found a state.

if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reason', ARGV[2], 'order_id', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
