-- jit: compiled
-- Run-time:
--   stdout:
--     red	3	nil	nil
--     sum of squares	9004500500	nil	nil
--     chain sum	12000	nil
--     cached total	445500	calls	100
--     true	3	true
--     false	meta_index.lua:48: attempt to index a nil value
--     false	meta_index.lua:49: attempt to index a number value (local 'n')

-- __index: a table (defaults), a function (computed fields), chains of metatables, rawget
-- bypassing it, and lookups through __index in hot loops.

local defaults = { color = "red", size = 10 }
local obj = setmetatable({ size = 3 }, { __index = defaults })
print(obj.color, obj.size, rawget(obj, "color"), obj.missing)

local squares = setmetatable({}, { __index = function(t, k)
  if type(k) == "number" then return k * k end
end })
local s = 0
for i = 1, 3000 do s = s + squares[i] end
print("sum of squares", s, squares.x, rawget(squares, 5))

-- A chain of three tables.
local base = { a = 1 }
local mid = setmetatable({ b = 2 }, { __index = base })
local top = setmetatable({ c = 3 }, { __index = mid })
local sum = 0
for _ = 1, 2000 do sum = sum + top.a + top.b + top.c end
print("chain sum", sum, top.d)

-- A caching __index: the function stores what it computes, so it's called once per key.
local calls = 0
local cache = setmetatable({}, { __index = function(t, k)
  calls = calls + 1
  local v = k * 3
  rawset(t, k, v)
  return v
end })
local total = 0
for i = 1, 3000 do total = total + cache[i % 100] end
print("cached total", total, "calls", calls)

-- __index on strings: the string library (the metatable of strings).
print(("abc").len == string.len, ("abc"):len(), getmetatable("").__index == string)
print(pcall(function() return (nil).x end))
print(pcall(function() local n = 5; return n.field end))
