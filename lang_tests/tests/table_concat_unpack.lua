-- jit: compiled
-- Run-time:
--   stdout:
--     12.5three4	1, 2.5, three, 4	2.5-three	[]
--     false	invalid value (table) at index 2 in table for 'concat'
--     false	invalid value (nil) at index 2 in table for 'concat'
--     1	2	3
--     2	3
--     2	3	nil	nil
--     0	3
--     4	1	nil	3	nil	0
--     2,3,4,4,5
--     x,y,a,b
--     chunked sum	4501500

-- table.concat with separators and ranges (numbers allowed, other values are errors),
-- table.unpack with ranges, table.pack's `n`, and table.move.

local t = { 1, 2.5, "three", 4 }
print(table.concat(t), table.concat(t, ", "), table.concat(t, "-", 2, 3), "[" .. table.concat(t, "x", 3, 2) .. "]")
print(pcall(table.concat, { 1, {}, 3 }))
print(pcall(table.concat, { 1, nil, 3 }, ",", 1, 3))

print(table.unpack({ 1, 2, 3 }))
print(table.unpack({ 1, 2, 3 }, 2))
print(table.unpack({ 1, 2, 3 }, 2, 5))
print(select("#", table.unpack({}, 1, 0)), select("#", table.unpack({ n = 3 }, 1, 3)))

local p = table.pack(1, nil, 3, nil)
print(p.n, p[1], p[2], p[3], p[4], #table.pack())

local src = { 1, 2, 3, 4, 5 }
table.move(src, 2, 4, 1)
print(table.concat(src, ","))
local dst = table.move({ "a", "b" }, 1, 2, 3, { "x", "y" })
print(table.concat(dst, ","))

-- Sum of unpacked chunks in a hot loop.
local big = {}
for i = 1, 3000 do big[i] = i end
local total = 0
local function add(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + (select(i, ...)) end
  return s
end
for i = 1, 3000, 10 do total = total + add(table.unpack(big, i, i + 9)) end
print("chunked sum", total)
