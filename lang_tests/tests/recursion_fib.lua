-- jit: compiled
-- Run-time:
--   env-var: YKLUA_RECURSION=1
--   stdout:
--     fib(25) =	75025
--     sum fib(0..20) =	17710
--     20! =	2432902008176640000	21! wraps to	-4249290049419214848
--     tree total	12274

-- Recursion: naive Fibonacci (many calls, deep enough to get hot), a recursive global
-- function, and recursive sums over a nested table.
--
-- With YKLUA_RECURSION=1 the recursive functions get entry locations once they recurse
-- (without it, nothing here compiles: the loop's recording runs through the whole recursion
-- and is aborted as too long), and their traces loop
-- through the recursion; the loop over `fib(i)` ends its trace at `fib`'s (see
-- docs/trace-compiler.md, "Recursion").

local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end
print("fib(25) =", fib(25))
local s = 0
for i = 0, 20 do s = s + fib(i) end
print("sum fib(0..20) =", s)

function gfact(n) -- a global, looked up on each call
  if n <= 1 then return 1 end
  return n * gfact(n - 1)
end
print("20! =", gfact(20), "21! wraps to", gfact(21))

local function build(depth)
  if depth == 0 then return 1 end
  return { build(depth - 1), build(depth - 1), depth }
end
local function total(t)
  if type(t) == "number" then return t end
  return total(t[1]) + total(t[2]) + t[3]
end
print("tree total", total(build(12)))
