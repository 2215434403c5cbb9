-- Run-time:
--   stdout:
--     suspended
--     start	1	2	running	true
--     true	3
--     suspended
--     got	10
--     true	20
--     got	3	4
--     true	finished	7
--     dead	false	cannot resume dead coroutine
--     thread	true	false
--     true	true	normal
--     true	21
--     false	table	42	dead
--     false	dead
--     false	attempt to yield from outside a coroutine
--     finished	1000	yields	2000

-- Coroutine states (suspended, running, normal, dead), coroutine.running/isyieldable,
-- values passed through resume and yield in both directions, errors inside a coroutine, and
-- resuming a dead coroutine.

local co
co = coroutine.create(function(a, b)
  print("start", a, b, coroutine.status(co), coroutine.isyieldable())
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  return "finished", d + e
end)
print(coroutine.status(co))
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co), coroutine.resume(co))

local main, ismain = coroutine.running()
print(type(main), ismain, coroutine.isyieldable())

-- "normal": a coroutine that resumed another one.
local outer
outer = coroutine.create(function()
  local inner = coroutine.create(function() return coroutine.status(outer) end)
  return coroutine.resume(inner)
end)
print(coroutine.resume(outer))

-- An error inside a coroutine is returned by resume; the coroutine is dead afterwards.
local bad = coroutine.create(function(x)
  coroutine.yield(x)
  error({ code = x * 2 })
end)
print(coroutine.resume(bad, 21))
local ok, err = coroutine.resume(bad)
print(ok, type(err), err.code, coroutine.status(bad))
print(coroutine.close(bad), coroutine.status(bad))
print(pcall(coroutine.yield, 1))

-- Many coroutines, each resumed until dead, in a hot loop.
local finished, yields = 0, 0
for i = 1, 1000 do
  local c = coroutine.create(function(n) for k = 1, n do coroutine.yield(k) end return "end" end)
  local okr, v = coroutine.resume(c, i % 5)
  while coroutine.status(c) ~= "dead" do
    yields = yields + 1
    okr, v = coroutine.resume(c)
  end
  if okr and v == "end" then finished = finished + 1 end
end
print("finished", finished, "yields", yields)
