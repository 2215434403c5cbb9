-- jit: compiled
-- Run-time:
--   stdout:
--     3000	2	6000	nil
--     sum	9006000
--     after removing 1000:	2000
--     distinct keys	500	total	2001000	5000	4996
--     int	int	float	string	bool	table	function	nil	nil
--     false	table_array_hash.lua:39: table index is nil
--     false	table_array_hash.lua:40: table index is NaN
--     nil	nil
--     5	9	2	7	10	b	0

-- Tables with array and hash parts: filling, reading and overwriting in hot loops, # on
-- proper sequences, integer/float/string/boolean/table keys, and errors for nil and NaN keys.

local arr = {}
for i = 1, 3000 do arr[i] = i * 2 end
print(#arr, arr[1], arr[3000], arr[3001])
for i = 1, 3000 do arr[i] = arr[i] + 1 end
local s = 0
for i = 1, #arr do s = s + arr[i] end
print("sum", s)

-- Shrinking a sequence from the end keeps # exact.
for i = 3000, 2001, -1 do arr[i] = nil end
print("after removing 1000:", #arr)

local h = {}
for i = 1, 2000 do h["key" .. i % 500] = (h["key" .. i % 500] or 0) + i end
local n, total = 0, 0
for _, v in pairs(h) do n = n + 1; total = total + v end
print("distinct keys", n, "total", total, h.key0, h.key499)

local k = {}
local tk, fk = {}, function() end
k[1] = "int"; k[2.5] = "float"; k["1"] = "string"; k[true] = "bool"; k[tk] = "table"; k[fk] = "function"
print(k[1], k[1.0], k[2.5], k["1"], k[true], k[tk], k[fk], k[false], k[{}])
print(pcall(function() k[nil] = 1 end))
print(pcall(function() k[0 / 0] = 1 end))
print(k[nil], k[0 / 0]) -- reading such keys is fine: there is nothing there

-- Constructors: positional items, explicit keys, trailing function call expanding.
local function three() return 7, 8, 9 end
local c = { 1, 2, three() }
local d = { three(), 10 }
local e = { [1] = "a", "b" } -- the positional item wins
print(#c, c[5], #d, d[1], d[2], e[1], #{ n = 1 })
