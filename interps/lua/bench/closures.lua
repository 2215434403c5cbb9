-- Closures: creating closures in a loop, shared and private upvalues, higher-order functions
-- (map/filter/fold written in Lua) and calling through function values.

local function map(t, f)
  local r = {}
  for i = 1, #t do
    r[i] = f(t[i])
  end
  return r
end

local function filter(t, p)
  local r = {}
  for i = 1, #t do
    if p(t[i]) then
      r[#r + 1] = t[i]
    end
  end
  return r
end

local function fold(t, f, acc)
  for i = 1, #t do
    acc = f(acc, t[i])
  end
  return acc
end

-- A counter object built from closures sharing one upvalue.
local function counter(step)
  local n = 0
  return function() n = n + step; return n end, function() return n end
end

local function bench(size)
  local xs = {}
  for i = 1, 100 do
    xs[i] = i
  end
  local total = 0
  for round = 1, size do
    local k = round % 10
    local scaled = map(xs, function(x) return x * k + round end)
    local odd = filter(scaled, function(x) return x % 2 == 1 end)
    total = (total + fold(odd, function(a, b) return a + b end, 0)) % 1000000007
    local inc, get = counter(k)
    for _ = 1, 10 do
      inc()
    end
    total = total + get()
  end
  return total
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
