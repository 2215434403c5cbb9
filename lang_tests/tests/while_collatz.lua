-- jit: compiled
-- Run-time:
--   stdout:
--     longest below 3000:	2919	216
--     total steps:	215063
--     stopped at	1421	acc	1008910

-- `while` loops: Collatz sequence lengths for 1..3000 (an inner data-dependent loop inside an
-- outer counted one), and a `while` with a complex condition.

local function steps(n)
  local s = 0
  while n ~= 1 do
    if n % 2 == 0 then n = n // 2 else n = 3 * n + 1 end
    s = s + 1
  end
  return s
end

local best, best_n, total = 0, 0, 0
local n = 1
while n <= 3000 do
  local s = steps(n)
  total = total + s
  if s > best then best, best_n = s, n end
  n = n + 1
end
print("longest below 3000:", best_n, best)
print("total steps:", total)

-- A `while` whose condition combines `and`/`or` and a function call.
local i, acc = 0, 0
local function small(x) return x < 2500 end
while small(i) and (acc < 1000000 or i % 7 ~= 0) do
  acc = acc + i
  i = i + 1
end
print("stopped at", i, "acc", acc)
