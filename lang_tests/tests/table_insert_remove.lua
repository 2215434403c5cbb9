-- jit: compiled
-- Run-time:
--   stdout:
--     0 1 2 3 4 99 5 6 7 8 9 10	12
--     10	0	99	9
--     1 2 3 4 5 6 7 8 9
--     nil	9	nil
--     false	bad argument #2 to 'table.insert' (position out of bounds)
--     false	wrong number of arguments to 'insert'
--     stack: pushes	2667	pops	1333	left	1334	popped sum	2666000
--     queue empty	true	order hash	654352

-- table.insert and table.remove at the end, at the front and in the middle; used as a
-- stack and a queue in hot loops; and their position errors.

local t = {}
for i = 1, 10 do table.insert(t, i) end
table.insert(t, 1, 0)
table.insert(t, 6, 99)
print(table.concat(t, " "), #t)
print(table.remove(t), table.remove(t, 1), table.remove(t, 5), #t)
print(table.concat(t, " "))
print(table.remove({}), #t, table.remove(t, #t + 1))
print(pcall(table.insert, t, 20, 1))
print(pcall(table.insert, t, 1, 2, 3))

-- A stack.
local stack = {}
local pushes, pops, sum = 0, 0, 0
for i = 1, 4000 do
  if i % 3 == 0 then
    sum = sum + table.remove(stack)
    pops = pops + 1
  else
    table.insert(stack, i)
    pushes = pushes + 1
  end
end
print("stack: pushes", pushes, "pops", pops, "left", #stack, "popped sum", sum)

-- A queue (removing from the front shifts the elements down).
local q = {}
for i = 1, 300 do q[#q + 1] = i end
local order = 0
for _ = 1, 300 do
  local x = table.remove(q, 1)
  order = order * 31 % 1000003 + x
end
print("queue empty", #q == 0, "order hash", order)
