-- jit: compiled
-- Run-time:
--   stdout:
--     weak values left	102	true	nil	a string value	42
--     weak keys left	250	sum	125500
--     ephemeron collected	true
--     string:string

-- Weak tables with explicit full collections: weak values, weak keys (ephemerons) and
-- fully weak tables lose entries whose objects became unreachable, and keep reachable ones;
-- strings and numbers are values, never collected from weak tables.

local cache = setmetatable({}, { __mode = "v" })
local strong = {}
for i = 1, 1000 do
  local obj = { id = i }
  cache[i] = obj
  if i % 10 == 0 then strong[#strong + 1] = obj end
end
cache[1001] = "a string value"
cache[1002] = 42
collectgarbage()
collectgarbage()
local n = 0
for _ in pairs(cache) do n = n + 1 end
print("weak values left", n, cache[10] == strong[1], cache[11], cache[1001], cache[1002])

local props = setmetatable({}, { __mode = "k" })
local live = {}
for i = 1, 1000 do
  local key = {}
  props[key] = i
  if i % 4 == 0 then live[#live + 1] = key end
end
collectgarbage()
collectgarbage()
local count, sum = 0, 0
for _, v in pairs(props) do count = count + 1; sum = sum + v end
print("weak keys left", count, "sum", sum)

-- An ephemeron: the value refers to its own key, which must not keep the entry alive.
local eph = setmetatable({}, { __mode = "k" })
do
  local k = {}
  eph[k] = { back = k }
end
collectgarbage()
print("ephemeron collected", next(eph) == nil)

local both = setmetatable({}, { __mode = "kv" })
local held = {}
both[held] = {}
both[{}] = held
both.name = "kept"
collectgarbage()
local keys = {}
for k, v in pairs(both) do keys[#keys + 1] = type(k) .. ":" .. type(v) end
table.sort(keys)
print(table.concat(keys, " "))
