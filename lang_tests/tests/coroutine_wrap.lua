-- jit: compiled
-- Run-time:
--   stdout:
--     sum of generated 1..3000:	4501500
--     primes below 5000:	669	largest	4999
--     in order	true	visited	1000
--     done
--     false	cannot resume dead coroutine

-- Generators with coroutine.wrap: yielding from inside numeric and generic loops, a
-- generator of generators (nested coroutines), and consuming them in hot loops.

local function range(n, step)
  return coroutine.wrap(function()
    for i = 1, n, step do coroutine.yield(i) end
  end)
end
local s = 0
for v in range(3000, 1) do s = s + v end
print("sum of generated 1..3000:", s)

local function primes(limit)
  return coroutine.wrap(function()
    for n = 2, limit do
      local isp = true
      for d = 2, n do
        if d * d > n then break end
        if n % d == 0 then isp = false; break end
      end
      if isp then coroutine.yield(n) end
    end
  end)
end
local count, last = 0, nil
for p in primes(5000) do count = count + 1; last = p end
print("primes below 5000:", count, "largest", last)

-- Yielding from a recursive in-order tree walk.
local function tree(lo, hi)
  if lo > hi then return nil end
  local mid = (lo + hi) // 2
  return { v = mid, l = tree(lo, mid - 1), r = tree(mid + 1, hi) }
end
local function walk(t)
  if t then walk(t.l); coroutine.yield(t.v); walk(t.r) end
end
local inorder = coroutine.wrap(function() walk(tree(1, 1000)) end)
local ok, prev, n = true, 0, 0
for v in inorder do
  if v ~= prev + 1 then ok = false end
  prev = v
  n = n + 1
end
print("in order", ok, "visited", n)

-- Calling a finished wrap generator is an error.
local once = coroutine.wrap(function() return "done" end)
print(once())
print(pcall(once))
