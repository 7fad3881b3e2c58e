-- get.lua: wrk script for a plain GET of the URL's path (wrk's own static
-- request: no Lua runs per request), reporting through wrk_report.lua.

done = require("wrk_report")
