-- buy_result.lua: wrk script for a buyer who buys once and then asks for the
-- result once: a POST /api/flash_sale/buy with a distinct user_id (buyers.lua:
-- PRODUCT_ID, USER_BASE), and for every accepted buy one GET
-- /api/flash_sale/result/<request_id>, so a run takes every Redis command of a
-- buy's path, the result lookup included.
-- done() (wrk_report.lua) prints one line "WRK_JSON {...}" that clients.py parses.

local buyers = require("buyers")
setup = buyers.setup

function init(args)
  next_user = buyers.first_user(tid)
  to_look_up = {}  -- request_ids of accepted buys whose result was not asked yet
end

function request()
  local id = table.remove(to_look_up)
  if id then return wrk.format("GET", "/api/flash_sale/result/" .. id) end
  next_user = next_user + 1
  return buyers.buy(next_user)
end

function response(status, headers, body)
  if status == 202 then
    local id = string.match(body, '"request_id":"([^"]+)"')
    if id then table.insert(to_look_up, id) end
  end
end

done = require("wrk_report")
