-- buy_result.lua: wrk script for a buyer who buys once and then asks for the
-- result once: a POST /api/flash_sale/buy with a distinct user_id, and for
-- every accepted buy one GET /api/flash_sale/result/<request_id>, so a run
-- takes every Redis command of a buy's path, the result lookup included.
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
  to_look_up = {}  -- request_ids of accepted buys whose result was not asked yet
end

function request()
  local id = table.remove(to_look_up)
  if id then return wrk.format("GET", "/api/flash_sale/result/" .. id) end
  next_user = next_user + 1
  local body = string.format('{"user_id":%d,"product_id":%s,"quantity":1}', next_user, product)
  return wrk.format("POST", "/api/flash_sale/buy", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 202 then
    local id = string.match(body, '"request_id":"([^"]+)"')
    if id then table.insert(to_look_up, id) end
  end
end

done = require("wrk_report")
