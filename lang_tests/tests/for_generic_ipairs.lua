-- jit: compiled
-- Run-time:
--   stdout:
--     count	2000	sum	6003000
--     up to the hole	1000
--     1=a 2=b 3=c
--     proxy sum	1125750

-- Generic `for` with `ipairs`: the sum over a 2000-element array, stopping at the first nil,
-- and index/value pairs seen in order.

local t = {}
for i = 1, 2000 do t[i] = i * 3 end
local sum, count = 0, 0
for i, v in ipairs(t) do
  sum = sum + v
  count = count + 1
  assert(v == i * 3)
end
print("count", count, "sum", sum)

-- ipairs stops at the first hole, whatever comes after it.
t[1001] = nil
count = 0
for _ in ipairs(t) do count = count + 1 end
print("up to the hole", count)

-- ipairs over a table with a hash part only sees the sequence.
local mixed = { "a", "b", "c", x = 1, y = 2, [5] = "e" }
local seen = {}
for i, v in ipairs(mixed) do seen[#seen + 1] = i .. "=" .. v end
print(table.concat(seen, " "))

-- ipairs respects __index (Lua 5.4 ipairs is not raw).
local proxy = setmetatable({}, { __index = function(_, i) if i <= 1500 then return i end end })
local psum = 0
for _, v in ipairs(proxy) do psum = psum + v end
print("proxy sum", psum)
