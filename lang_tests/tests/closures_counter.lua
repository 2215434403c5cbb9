-- jit: compiled
-- Run-time:
--   stdout:
--     2501	-4902
--     23972	3000
--     sum of 2(i+1)+1:	4008000
--     memo total	2425500	misses	50

-- Closures keeping private state: independent counters, an accumulator generator, and
-- closures called in a hot loop that update their upvalues.

local function counter(start, step)
  local n = start
  return function()
    n = n + step
    return n
  end
end
local c1, c2 = counter(0, 1), counter(100, -2)
for _ = 1, 2500 do c1(); c2() end
print(c1(), c2())

local function make_acc()
  local total, calls = 0, 0
  local function add(x) total = total + x; calls = calls + 1 end
  local function get() return total, calls end
  return add, get
end
local add, get = make_acc()
for i = 1, 3000 do add(i % 17) end
print(get())

-- Composition of closures.
local function compose(f, g) return function(...) return f(g(...)) end end
local inc = function(x) return x + 1 end
local dbl = function(x) return x * 2 end
local f = compose(inc, compose(dbl, inc))
local s = 0
for i = 1, 2000 do s = s + f(i) end
print("sum of 2(i+1)+1:", s)

-- Memoisation through a closure over a cache table.
local function memoize(fn)
  local cache, misses = {}, 0
  return function(n)
    local v = cache[n]
    if v == nil then
      misses = misses + 1
      v = fn(n)
      cache[n] = v
    end
    return v
  end, function() return misses end
end
local slow_sq, misses = memoize(function(n) return n * n end)
local t = 0
for i = 1, 3000 do t = t + slow_sq(i % 50) end
print("memo total", t, "misses", misses())
