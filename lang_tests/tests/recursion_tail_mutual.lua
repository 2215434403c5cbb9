-- jit: compiled
-- Run-time:
--   stdout:
--     tail-recursive sum to 1e6:	500000500000
--     true	true	false
--     sum of gcds	162000

-- Proper tail calls (a million deep would overflow the stack otherwise), mutual recursion
-- with tail calls, and a loop written as a tail-recursive function.

local function count_down(n, acc)
  if n == 0 then return acc end
  return count_down(n - 1, acc + n)
end
print("tail-recursive sum to 1e6:", count_down(1000000, 0))

local is_even, is_odd
function is_even(n) if n == 0 then return true end return is_odd(n - 1) end
function is_odd(n) if n == 0 then return false end return is_even(n - 1) end
print(is_even(100000), is_odd(77777), is_even(3))

local function gcd(a, b)
  if b == 0 then return a end
  return gcd(b, a % b)
end
local g = 0
for i = 1, 3000 do g = g + gcd(i * 12, 360) end
print("sum of gcds", g)
