-- jit: compiled
-- Run-time:
--   stdout:
--     sum of i^2 - i for 1..1000:	333333000
--     evens	1500	last	3000
--     closed exhausted; closed broken
--     letters in words:	5600

-- Generic `for` with hand-written iterators: a stateless one (state and control variable
-- passed back in), a closure-based one, and the fourth (closing) value of Lua 5.4.

local function range_step(limit, i)
  i = i + 1
  if i <= limit then return i, i * i end
end
local function range(n) return range_step, n, 0 end

local s = 0
for i, sq in range(1000) do s = s + sq - i end
print("sum of i^2 - i for 1..1000:", s)

local function evens(n)
  local i = 0
  return function()
    i = i + 2
    if i <= n then return i end
  end
end
local c, last = 0, nil
for e in evens(3000) do c = c + 1; last = e end
print("evens", c, "last", last)

-- The closing value is closed when the loop ends, by exhaustion or by `break`.
local log = {}
local function closing(tag)
  return setmetatable({}, { __close = function() log[#log + 1] = "closed " .. tag end })
end
for i in range_step, 100, 0, closing("exhausted") do end
for i in range_step, 100, 0, closing("broken") do
  if i == 50 then break end
end
print(table.concat(log, "; "))

-- Iterating over the words of a string with gmatch.
local words = 0
local text = string.rep("alpha beta gamma ", 400)
for w in text:gmatch("%a+") do words = words + #w end
print("letters in words:", words)
