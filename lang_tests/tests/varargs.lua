-- jit: compiled
-- Run-time:
--   stdout:
--     0	1	2	4
--     b	c	b	c
--     false	bad argument #1 to 'select' (index out of range)
--     false	bad argument #1 to 'select' (index out of range)
--     9	1	end
--     true	0
--     total	4004000	0	0
--     3	1	nil	3
--     sum of maxima	15529

-- Varargs: select('#') counting nils, select with negative indices, `...` adjusted to one
-- value in the middle of a list, table.pack/unpack round trips, and vararg functions in a
-- hot loop.

local function count(...) return select("#", ...) end
print(count(), count(nil), count(nil, nil), count(1, nil, 3, nil))
print(select(2, "a", "b", "c"), select(-1, "a", "b", "c"), select(-2, "a", "b", "c"))
print(pcall(select, 0, 1))
print(pcall(select, -5, 1))

local function first(...) return (...) end
local function middle(...) return ..., "end" end
print(first(9, 8, 7), middle(1, 2, 3))
print({ ... } ~= nil, select("#", ...)) -- the main chunk's varargs: no script arguments

local function sum(...)
  local s = 0
  local args = table.pack(...)
  for i = 1, args.n do s = s + (args[i] or 0) end
  return s, args.n
end
local total = 0
for i = 1, 2000 do
  local s = sum(i, nil, i, 1)
  total = total + s
end
print("total", total, sum())

-- Forwarding varargs through several calls keeps trailing nils.
local function pass(...) return ... end
local function wrap(...) return pass(pass(...)) end
print(select("#", wrap(1, nil, nil)), wrap(1, nil, 3))

-- A vararg `max` in a hot loop.
local function vmax(first_, ...)
  local m = first_
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v > m then m = v end
  end
  return m
end
local acc = 0
for i = 1, 2000 do acc = acc + vmax(i % 13, i % 7, i % 11, i % 5) end
print("sum of maxima", acc)
