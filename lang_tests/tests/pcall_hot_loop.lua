-- Run-time:
--   stdout:
--     ok	2572	errors	428	sum	1575187
--     pcall_hot_loop.lua:19: division by zero
--     false	level 0
--     false	pcall_hot_loop.lua:39: level 1
--     false	pcall_hot_loop.lua:40: level 2
--     true	1	nil	3
--     true	false:inner
--     attempt to add a 'string' with a 'number'	200
--     attempt to perform arithmetic on a nil value (upvalue 'v')	200
--     attempt to perform arithmetic on a table value (upvalue 'v')	200
--     ok	600

-- pcall and error inside hot loops: errors raised on some iterations and caught, string
-- errors with positions, error levels 0/1/2, and the loop carrying on with correct state.

local function checked_div(a, b)
  if b == 0 then error("division by zero") end
  return a // b
end

local ok_count, err_count, sum = 0, 0, 0
local last_err
for i = 1, 3000 do
  local ok, v = pcall(checked_div, i, i % 7)
  if ok then
    ok_count = ok_count + 1
    sum = sum + v
  else
    err_count = err_count + 1
    last_err = v
  end
end
print("ok", ok_count, "errors", err_count, "sum", sum)
print(last_err)

-- Error levels: 1 (default) blames the function calling error, 2 its caller, 0 no position.
local function lvl(n) error("level " .. n, n) end
local function caller(n) lvl(n) end
print(pcall(caller, 0))
print(pcall(caller, 1))
print(pcall(caller, 2))

-- pcall returns all results on success and catches errors in nested pcalls independently.
print(pcall(function(...) return ... end, 1, nil, 3))
local outer_ok, inner = pcall(function()
  local ok, e = pcall(error, "inner", 0)
  return tostring(ok) .. ":" .. e
end)
print(outer_ok, inner)

-- Errors from the runtime (not from `error`) in a hot loop.
local kinds = {}
local values = { 1, "2", {}, nil, "x", 3.5 }
for i = 1, 1200 do
  local v = values[i % 6 + 1]
  local ok, e = pcall(function() return v + 1 end)
  local key = ok and "ok" or e:gsub("^[^:]+:%d+: ", "") -- without the position
  kinds[key] = (kinds[key] or 0) + 1
end
local keys = {}
for k in pairs(kinds) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do print(k, kinds[k]) end
