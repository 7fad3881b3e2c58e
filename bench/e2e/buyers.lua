-- buyers.lua: what the buying wrk scripts (buy.lua, buy_result.lua) share: a
-- distinct user_id on every buy, so that on a large stock every call takes
-- the success path. Environment: PRODUCT_ID (default 1), USER_BASE (first
-- user id; give each run its own range). Each wrk thread owns 10^9 ids above
-- USER_BASE. A script takes it with `local buyers = require("buyers")`;
-- clients.py puts this folder on LUA_PATH.

local buyers = {}
local thread_count = 0
local product = os.getenv("PRODUCT_ID") or "1"
local user_base = tonumber(os.getenv("USER_BASE") or "1")

-- wrk's setup(): numbers the threads (the global `tid` in each).
function buyers.setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

-- The user id before the first one of the thread numbered `tid`.
function buyers.first_user(tid)
  return user_base + tid * 1000000000
end

-- A POST /api/flash_sale/buy of one unit for `user`.
function buyers.buy(user)
  local body = string.format('{"user_id":%d,"product_id":%s,"quantity":1}', user, product)
  return wrk.format("POST", "/api/flash_sale/buy", {["Content-Type"] = "application/json"}, body)
end

return buyers
