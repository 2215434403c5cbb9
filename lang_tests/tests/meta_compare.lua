-- jit: compiled
-- Run-time:
--   stdout:
--     true	true	true	true	true	true	false
--     false	true	2
--     sorted	true	0	0	4	10
--     less	833	equal	167
--     true	true	false	meta_compare.lua:47: attempt to compare table with number

-- Comparison metamethods: __eq (only called for two tables, not for a table against a
-- number, and not when the operands are the same table), __lt and __le (> and >= swap the
-- operands), and sorting objects via __lt.

local eq_calls = 0
local Ver = {}
Ver.__eq = function(a, b) eq_calls = eq_calls + 1; return a.major == b.major and a.minor == b.minor end
Ver.__lt = function(a, b) return a.major < b.major or (a.major == b.major and a.minor < b.minor) end
Ver.__le = function(a, b) return not (b < a) end
local function ver(M, m) return setmetatable({ major = M, minor = m }, Ver) end

local v1, v2, v3 = ver(1, 2), ver(1, 10), ver(1, 2)
print(v1 == v3, v1 ~= v2, v1 < v2, v2 > v1, v1 <= v3, v2 >= v3, v1 > v3)
print(v1 == 1, v1 == v1, eq_calls)

local list = {}
for i = 1, 300 do list[i] = ver(i * 7 % 5, i * 13 % 11) end
table.sort(list) -- uses __lt
local ok = true
for i = 2, #list do if list[i] < list[i - 1] then ok = false end end
print("sorted", ok, list[1].major, list[1].minor, list[300].major, list[300].minor)

local less, equal = 0, 0
for i = 1, 2000 do
  local a, b = ver(i % 3, i % 4), ver(1, 1)
  if a < b then less = less + 1 end
  if a == b then equal = equal + 1 end
end
print("less", less, "equal", equal)

-- A __lt on one operand's metatable is enough; mixing with numbers goes through it too.
local Num = { __lt = function(a, b)
  local x = type(a) == "table" and a.v or a
  local y = type(b) == "table" and b.v or b
  return x < y
end }
local five = setmetatable({ v = 5 }, Num)
print(five < 6, 4 < five, pcall(function() return five <= 6 end))
