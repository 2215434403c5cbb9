-- Run-time:
--   stdout:
--     items	1666	sum of squares of multiples of 3	13884721389
--     running	2001000	final	2001000	dead

-- A producer/filter/consumer pipeline of coroutines, passing values through yields inside
-- loops, with values sent into the coroutines by resume.

local function producer(n)
  return coroutine.create(function()
    for i = 1, n do coroutine.yield(i) end
    return nil
  end)
end

local function filter(src, pred)
  return coroutine.create(function()
    while true do
      local ok, v = coroutine.resume(src)
      if not v then return nil end
      if pred(v) then coroutine.yield(v) end
    end
  end)
end

local function map(src, f)
  return coroutine.create(function()
    while true do
      local _, v = coroutine.resume(src)
      if v == nil then return nil end
      coroutine.yield(f(v))
    end
  end)
end

local pipe = map(filter(producer(5000), function(v) return v % 3 == 0 end), function(v) return v * v end)
local n, sum = 0, 0
while true do
  local _, v = coroutine.resume(pipe)
  if v == nil then break end
  n = n + 1
  sum = sum + v
end
print("items", n, "sum of squares of multiples of 3", sum)

-- An accumulator coroutine receiving values through resume.
local acc = coroutine.create(function(first)
  local total = first
  while true do
    local v = coroutine.yield(total)
    if v == nil then return total end
    total = total + v
  end
end)
local _, running = coroutine.resume(acc, 0)
for i = 1, 2000 do _, running = coroutine.resume(acc, i) end
local _, final = coroutine.resume(acc)
print("running", running, "final", final, coroutine.status(acc))
