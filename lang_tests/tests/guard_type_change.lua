-- jit: compiled
-- Run-time:
--   stdout:
--     acc	4501500.5	float
--     numbers	1999	strings	1001	total	4501500	integer
--     weights	9000	missing	1000
--     up	0	flips	4
--     negatives after overflow	1500	-9223372036854774309

-- Loops whose values change type or whose branches change direction after the loop has
-- become hot, so that a compiled trace's assumptions stop holding midway: an accumulator that
-- turns from integer to float, a value that turns from number to string, a table field that
-- disappears, and a condition that flips.

local acc = 0
for i = 1, 3000 do
  if i == 1500 then acc = acc + 0.5 end -- integer until here, float afterwards
  acc = acc + i
end
print("acc", acc, math.type(acc))

local values = {}
for i = 1, 3000 do values[i] = i < 2000 and i or tostring(i) end
local nums, strs, total = 0, 0, 0
for i = 1, #values do
  local v = values[i]
  if type(v) == "number" then nums = nums + 1 else strs = strs + 1 end
  total = total + v -- strings are coerced
end
print("numbers", nums, "strings", strs, "total", total, math.type(total))

local recs = {}
for i = 1, 3000 do recs[i] = { w = i % 10 } end
for i = 2001, 3000 do recs[i].w = nil end
local wsum, missing = 0, 0
for i = 1, #recs do
  local w = recs[i].w
  if w then wsum = wsum + w else missing = missing + 1 end
end
print("weights", wsum, "missing", missing)

local flips, up = 0, 0
for i = 1, 4000 do
  if (i // 1000) % 2 == 0 then up = up + 1 else up = up - 1 end
  if i % 1000 == 0 then flips = flips + 1 end
end
print("up", up, "flips", flips)

-- A loop over integers that overflow into negative numbers halfway.
local x = math.maxinteger - 1500
local negatives = 0
for _ = 1, 3000 do
  x = x + 1
  if x < 0 then negatives = negatives + 1 end
end
print("negatives after overflow", negatives, x)
