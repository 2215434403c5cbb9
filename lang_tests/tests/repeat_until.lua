-- jit: compiled
-- Run-time:
--   stdout:
--     n	1001	iterations	1001
--     ran	1
--     sum of isqrt(0..5000):	233275
--     1000000.0	1048576	111111111

-- `repeat ... until`: the body runs at least once, and the condition can see the body's
-- locals.

local n, iters = 0, 0
repeat
  local sq = n * n
  n = n + 1
  iters = iters + 1
until sq >= 1000000 -- `sq` is the body's local
print("n", n, "iterations", iters)

-- A body that runs once though the condition is true from the start.
local ran = 0
repeat ran = ran + 1 until true
print("ran", ran)

-- Integer square root by Newton's method, repeated for many inputs.
local function isqrt(x)
  if x < 2 then return x end
  local r = x
  local prev
  repeat
    prev = r
    r = (r + x // r) // 2
  until r >= prev
  return prev
end
local sum = 0
for x = 0, 5000 do sum = sum + isqrt(x) end
print("sum of isqrt(0..5000):", sum)
print(isqrt(10 ^ 12 // 1), isqrt(1 << 40), isqrt(12345678987654321))
