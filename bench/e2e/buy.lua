-- buy.lua: wrk script for POST /api/flash_sale/buy with a distinct user_id
-- on every request (so, on a large stock, every call takes the success path).
-- Environment: PRODUCT_ID (default 1), USER_BASE (first user id; give each
-- run its own range). Each wrk thread owns 10^9 ids above USER_BASE.
-- done() (wrk_report.lua) prints one line "WRK_JSON {...}" that clients.py parses.

local threads = {}
local thread_count = 0
local product = os.getenv("PRODUCT_ID") or "1"
local user_base = tonumber(os.getenv("USER_BASE") or "1")

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  next_user = user_base + tid * 1000000000
  sent = 0
end

function request()
  next_user = next_user + 1
  sent = sent + 1
  local body = string.format('{"user_id":%d,"product_id":%s,"quantity":1}', next_user, product)
  return wrk.format("POST", "/api/flash_sale/buy", {["Content-Type"] = "application/json"}, body)
end

done = require("wrk_report")
