-- unlock.lua: release a user's purchase lock, but only if it still holds the
-- given request_id (a later admission of the same user keeps its lock).
--
-- KEYS[1] fs:{p:N}:lock:<user>   string: request_id
-- ARGV[1] request_id
--
-- Returns 1 when the lock was deleted, 0 otherwise.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
