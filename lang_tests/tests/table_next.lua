-- jit: compiled
-- Run-time:
--   stdout:
--     nil	nil	function	true
--     x	42	nil
--     entries	2000	sum	1001000
--     true	false
--     after clearing:	true
--     false	invalid key to 'next'

-- `next` directly: on empty tables, walking a table by hand in a hot loop (the order isn't
-- specified, so only counts and sums are printed), and its error for an invalid key.

print(next({}), next({}, nil), type(next), rawequal(next({ 5 }), 1))
local one = { x = 42 }
local k, v = next(one)
print(k, v, next(one, k))

local t = {}
for i = 1, 1000 do t[i] = i end
for i = 1, 1000 do t["s" .. i] = i end
local count, sum = 0, 0
local key, val = next(t)
while key ~= nil do
  count = count + 1
  sum = sum + val
  key, val = next(t, key)
end
print("entries", count, "sum", sum)

-- Emptiness test with next, and clearing all fields during traversal.
local function is_empty(tab) return next(tab) == nil end
print(is_empty({}), is_empty(t))
for kk in pairs(t) do t[kk] = nil end
print("after clearing:", is_empty(t))
print(pcall(next, { 1 }, "no such key"))
