-- buy.lua: wrk script for POST /api/flash_sale/buy with a distinct user_id
-- on every request (so, on a large stock, every call takes the success path).
-- Environment: PRODUCT_ID (default 1), USER_BASE (first user id; give each
-- run its own range). Each wrk thread owns 10^9 ids above USER_BASE.
-- done() prints one line "WRK_JSON {...}" that bench/e2e/clients.py parses.

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

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
