-- jit: compiled
-- Run-time:
--   stdout:
--     sum 1..1000 = 500500
--     sum 1000..1 step -1 = 500500
--     odd sum 1..1999 step 2 = 1000000
--     float 0..1 step 0.25: 0.0 0.25 0.5 0.75 1.0
--     empty loop ran 0 times
--     loop var is a copy: 10
--     step 3 from 1 to 3000: last 2998 count 1000
--     float loop sum = 500.5

-- Numeric `for`: ascending, descending, stepped, float and empty ranges, and that changing
-- the control variable inside the body doesn't change the iteration count.

local s = 0
for i = 1, 1000 do s = s + i end
print("sum 1..1000 = " .. s)

s = 0
for i = 1000, 1, -1 do s = s + i end
print("sum 1000..1 step -1 = " .. s)

s = 0
for i = 1, 1999, 2 do s = s + i end
print("odd sum 1..1999 step 2 = " .. s)

local parts = {}
for x = 0, 1, 0.25 do parts[#parts + 1] = tostring(x) end
print("float 0..1 step 0.25: " .. table.concat(parts, " "))

local n = 0
for _ = 10, 1 do n = n + 1 end
print("empty loop ran " .. n .. " times")

n = 0
for i = 1, 10 do
  i = i * 100 -- assigns the local copy only
  n = n + 1
end
print("loop var is a copy: " .. n)

local last, count = nil, 0
for i = 1, 3000, 3 do last = i; count = count + 1 end
print("step 3 from 1 to 3000: last " .. last .. " count " .. count)

local fs = 0.0
for i = 1, 1000 do fs = fs + i / 1000 end
print("float loop sum = " .. fs)
