-- jit: compiled
-- Run-time:
--   stdout:
--     1200	123456789012	67890
--     true
--     0.5,1.0,1.5,2.0,	1	1.0	-0.0	9.2233720368548e+18	-9223372036854775808
--     x12.5x12.5
--     false	string_building.lua:32: attempt to concatenate a table value
--     false	string_building.lua:33: attempt to concatenate a nil value
--     lines	500	sum	125250	length	4391

-- Building strings: `..` in a hot loop (numbers converted by the concatenation), a buffer
-- table joined with table.concat, and the results of both agreeing.

local s = ""
for i = 1, 1200 do s = s .. (i % 10) end
print(#s, s:sub(1, 12), s:sub(-5))

local parts = {}
for i = 1, 1200 do parts[#parts + 1] = i % 10 end
local joined = table.concat(parts)
print(joined == s)

-- Floats in concatenations use the same format as tostring.
local fl = ""
for i = 1, 4 do fl = fl .. (i / 2) .. "," end
print(fl, 1 .. "", 1.0 .. "", -0.0 .. "", 2 ^ 63 .. "", math.mininteger .. "")

-- Concatenating many operands at once and nested concatenation.
local a, b, c = "x", 1, 2.5
print(a .. b .. c .. a .. b .. c)
print(pcall(function() return "a" .. {} end))
print(pcall(function() return "a" .. nil end))

-- A string of lines with a separator, then split back.
local lines = {}
for i = 1, 500 do lines[i] = "line " .. i end
local doc = table.concat(lines, "\n")
local n, total = 0, 0
for line in doc:gmatch("[^\n]+") do
  n = n + 1
  total = total + tonumber(line:match("%d+"))
end
print("lines", n, "sum", total, "length", #doc)
