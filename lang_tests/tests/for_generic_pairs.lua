-- jit: compiled
-- Run-time:
--   stdout:
--     keys	2000	string keys	1500	sum	1000500
--     1,2,apple,banana,cherry
--     visited	2000	left	500
--     1:1 2:4 3:9

-- Generic `for` with `pairs` over hash and array parts. Traversal order is unspecified, so
-- the keys are sorted before printing; counts and sums don't depend on the order.

local t = {}
for i = 1, 1500 do t["k" .. i] = i end
for i = 1, 500 do t[i] = -i end
local nkeys, sum, strkeys = 0, 0, 0
for k, v in pairs(t) do
  nkeys = nkeys + 1
  sum = sum + v
  if type(k) == "string" then strkeys = strkeys + 1 end
end
print("keys", nkeys, "string keys", strkeys, "sum", sum)

local small = { apple = 3, banana = 5, cherry = 7, 10, 20 }
local keys = {}
for k in pairs(small) do keys[#keys + 1] = tostring(k) end
table.sort(keys)
print(table.concat(keys, ","))

-- Assigning to existing fields (including clearing them) during traversal is allowed.
local n = 0
for k in pairs(t) do
  if type(k) == "string" then t[k] = nil end
  n = n + 1
end
local left = 0
for _ in pairs(t) do left = left + 1 end
print("visited", n, "left", left)

-- __pairs overrides the traversal.
local ordered = setmetatable({}, {
  __pairs = function(self)
    local i = 0
    return function()
      i = i + 1
      if i <= 3 then return i, i * i end
    end, self, nil
  end,
})
for k, v in pairs(ordered) do io.write(k, ":", v, " ") end
print()
