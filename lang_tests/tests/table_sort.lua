-- jit: compiled
-- Run-time:
--   stdout:
--     ascending	true	14	32049	65523
--     descending first/last	65523	14
--     Apple Fig apple banana cherry fig pear
--     Fig fig pear Apple apple banana cherry
--     p90	0	p467	89	p45
--     -inf -1 1.5 2 2.5 3 inf
--     false	attempt to compare string with number
--     false	invalid order function for sorting

-- table.sort: numbers, strings, a custom comparator (descending, and by two keys), records
-- sorted by a field, and the errors for incomparable values and invalid order functions.

local nums = {}
local x = 7
for i = 1, 2000 do
  x = (x * 75 + 74) % 65537
  nums[i] = x
end
table.sort(nums)
local sorted = true
for i = 2, #nums do if nums[i - 1] > nums[i] then sorted = false end end
print("ascending", sorted, nums[1], nums[1000], nums[2000])

table.sort(nums, function(a, b) return a > b end)
print("descending first/last", nums[1], nums[2000])

local words = { "pear", "Apple", "fig", "banana", "apple", "Fig", "cherry" }
table.sort(words)
print(table.concat(words, " "))
table.sort(words, function(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end)
print(table.concat(words, " "))

local people = {}
for i = 1, 500 do people[i] = { name = "p" .. i, age = (i * 37) % 90, id = i } end
table.sort(people, function(a, b)
  if a.age ~= b.age then return a.age < b.age end
  return a.id < b.id
end)
print(people[1].name, people[1].age, people[500].name, people[500].age, people[250].name)

local mixed = { 3, 1.5, 2, -1, 2.5, math.huge, -math.huge }
table.sort(mixed)
for i = 1, #mixed do mixed[i] = tostring(mixed[i]) end
print(table.concat(mixed, " "))
print(pcall(table.sort, { 1, "2", 3 }))
-- An order function that isn't a strict order is detected (here, on a 100-element array).
local bad = {}
for i = 1, 100 do bad[i] = i % 7 end
print(pcall(table.sort, bad, function(a, b) return true end))
