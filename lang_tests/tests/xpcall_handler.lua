-- Run-time:
--   stdout:
--     true	5
--     false	handled: xpcall_handler.lua:19: bad thing
--     false	table
--     false	string
--     xpcall_handler.lua:22: attempt to index a nil value (local 'x')
--     true	true
--     false	error in error handling
--     handled	200	total	1599000

-- xpcall: the message handler sees the original error and its result replaces it; extra
-- arguments are passed to the function; debug.traceback as a handler gives a string whose
-- first line is the message (the rest names stack frames, so only its shape is checked); and
-- xpcall in a hot loop.

local function handler(e) return "handled: " .. tostring(e) end
print(xpcall(function(a, b) return a + b end, handler, 2, 3))
print(xpcall(function() error("bad thing") end, handler))
print(xpcall(function() error({}) end, function(e) return type(e) end))

local ok, tb = xpcall(function() local x = nil; return x.y end, debug.traceback)
print(ok, type(tb))
print(tb:match("^[^\n]+"))
print(tb:find("stack traceback:", 1, true) ~= nil, select(2, tb:gsub("\n", "")) >= 2)

-- A handler that itself fails: xpcall reports a handler error.
print(xpcall(error, function() error("again") end, "first"))

local handled, total = 0, 0
for i = 1, 2000 do
  local ok2, v = xpcall(function()
    if i % 10 == 0 then error(i, 0) end
    return i
  end, function(e) handled = handled + 1; return -e end)
  total = total + v
end
print("handled", handled, "total", total)
