-- buy.lua: wrk script for POST /api/flash_sale/buy with a distinct user_id
-- on every request (buyers.lua: PRODUCT_ID, USER_BASE).
-- done() (wrk_report.lua) prints one line "WRK_JSON {...}" that clients.py parses.

local buyers = require("buyers")
setup = buyers.setup

function init(args)
  next_user = buyers.first_user(tid)
end

function request()
  next_user = next_user + 1
  return buyers.buy(next_user)
end

done = require("wrk_report")
