-- jit: compiled
-- Run-time:
--   stdout:
--     2	30	a,b
--     nil	2000	2000
--     20	3	false	meta_newindex.lua:37: attempt to set read-only field 4
--     false	meta_newindex.lua:38: attempt to set read-only field x
--     first writes	250
--     true

-- __newindex: a function logging assignments to absent keys, a table receiving them,
-- read-only proxies that raise errors, and rawset bypassing it.

local log = {}
local t = setmetatable({}, { __newindex = function(tab, k, v)
  log[#log + 1] = tostring(k)
  rawset(tab, k, v * 10)
end })
t.a = 1
t.a = 2 -- present now: no __newindex
t.b = 3
print(t.a, t.b, table.concat(log, ","))

local store = {}
local redirect = setmetatable({}, { __newindex = store })
for i = 1, 2000 do redirect[i] = i end
print(rawget(redirect, 1), #store, store[2000])

local function readonly(tab)
  return setmetatable({}, {
    __index = tab,
    __newindex = function(_, k) error("attempt to set read-only field " .. tostring(k), 2) end,
    __len = function() return #tab end,
  })
end
local ro = readonly({ 10, 20, 30 })
print(ro[2], #ro, pcall(function() ro[4] = 1 end))
local ok, err = pcall(function() ro.x = 1 end)
print(ok, err)

-- Counting writes through __newindex in a hot loop: only writes to absent keys count.
local writes = 0
local counted = setmetatable({}, { __newindex = function(tab, k, v) writes = writes + 1; rawset(tab, k, v) end })
for i = 1, 3000 do counted[i % 250] = i end
print("first writes", writes)
rawset(ro, "direct", true)
print(rawget(ro, "direct"))
