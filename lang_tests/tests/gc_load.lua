-- jit: compiled
-- Run-time:
--   stdout:
--     checksum	400108894	kept	200
--     garbage freed	true	back near the baseline	true
--     kept objects intact	true
--     true	boolean	true
--     string lengths	32679
--     generational	incremental	generational
--     false	bad argument #1 to 'collectgarbage' (invalid option 'no such option')

-- The collector under load: a hot loop allocating many short-lived tables, strings and
-- closures while a long-lived structure is kept, with explicit full and step collections.
-- Only results that don't depend on memory figures are printed, plus the fact that a full
-- collection frees most of the garbage.

local keep = {}
local checksum = 0
for i = 1, 20000 do
  local t = { i, tostring(i), function() return i end }
  checksum = checksum + t[1] + #t[2] + t[3]()
  if i % 100 == 0 then keep[#keep + 1] = t end
end
print("checksum", checksum, "kept", #keep)

collectgarbage()
local after_full = collectgarbage("count")
local garbage = {}
for i = 1, 5000 do garbage[i] = string.rep("x", 100) .. i end
garbage = nil
local with_garbage = collectgarbage("count")
collectgarbage()
local collected = collectgarbage("count")
print("garbage freed", collected < with_garbage, "back near the baseline", collected < after_full + 64)

-- The kept objects survived every collection intact.
local ok = true
for _, t in ipairs(keep) do
  if t[2] ~= tostring(t[1]) or t[3]() ~= t[1] then ok = false end
end
print("kept objects intact", ok)

-- Incremental steps interleaved with allocation; collectgarbage option results.
print(collectgarbage("isrunning"), type(collectgarbage("step", 0)), collectgarbage("count") > 0)
local n = 0
for i = 1, 3000 do
  local s = { tostring(i):rep(3) }
  n = n + #s[1]
  if i % 500 == 0 then collectgarbage("step", 10) end
end
print("string lengths", n)
print(collectgarbage("incremental"), collectgarbage("generational"), collectgarbage("incremental"))
print(pcall(collectgarbage, "no such option"))
