-- set_state.lua: write a request's state (pending, success or failed) with
-- its time to live, replacing whatever was there.
--
-- KEYS[1] fs:{r:<request_id>}:state   hash: status, reason, order_id
-- ARGV    status, reason, order_id, ttl_seconds
--
-- Returns 1.

redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reason', ARGV[2], 'order_id', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
