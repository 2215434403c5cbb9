-- jit: compiled
-- Run-time:
--   stdout:
--     sum of 1..3000 not divisible by 3 or 5:	2400000
--     sum of squares 1..2000:	2668667000
--     first a<b with a^2+b^2=65^2:	16,63
--     10	20	30

-- `goto continue`, the usual stand-in for `continue`, in hot loops; and `goto` forming a
-- loop of its own.

local sum = 0
for i = 1, 3000 do
  if i % 3 == 0 then goto continue end
  if i % 5 == 0 then goto continue end
  sum = sum + i
  ::continue::
end
print("sum of 1..3000 not divisible by 3 or 5:", sum)

-- A loop made of a label and a backward goto.
local i, acc = 1, 0
::top::
acc = acc + i * i
i = i + 1
if i <= 2000 then goto top end
print("sum of squares 1..2000:", acc)

-- Leaving two nested loops at once.
local hit
for a = 1, 100 do
  for b = 1, 100 do
    if a * a + b * b == 65 * 65 and a < b then
      hit = a .. "," .. b
      goto done
    end
  end
end
::done::
print("first a<b with a^2+b^2=65^2:", hit)

-- Each pass of a goto loop gets a fresh local, as closures show.
local fns = {}
do
  local k = 1
  ::again::
  local captured = k * 10
  fns[#fns + 1] = function() return captured end
  k = k + 1
  if k <= 3 then goto again end
end
print(fns[1](), fns[2](), fns[3]())
