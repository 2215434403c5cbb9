-- jit: compiled
-- Run-time:
--   stdout:
--     P(1,2)	P(1,2)
--     P(1,2)!	at P(1,2)	P(1,2)P(3,4)	1P(1,2)
--     total length	18786	P(1498,-1498);P(1499,-1499);P(1500,-1500);
--     true	42
--     false	'__tostring' must return a string
--     MyType: ADDR
--     false	meta_tostring_concat.lua:43: attempt to concatenate a table value
--     false	meta_tostring_concat.lua:44: attempt to concatenate a MyType value (upvalue 'named')

-- __tostring (used by tostring and print; a number result is accepted, as it converts to a
-- string, anything else is an error), __name in default messages, and __concat with the object on either side of `..`, in hot loops.

local Point = {}
Point.__tostring = function(p) return "P(" .. p.x .. "," .. p.y .. ")" end
Point.__concat = function(a, b)
  local function s(v) return type(v) == "table" and tostring(v) or v end
  return s(a) .. s(b)
end
local function pt(x, y) return setmetatable({ x = x, y = y }, Point) end

local p = pt(1, 2)
print(p, tostring(p))
print(p .. "!", "at " .. p, p .. pt(3, 4), 1 .. p)

local parts = 0
local acc = ""
for i = 1, 1500 do
  local s = pt(i, -i) .. ";"
  parts = parts + #s
  if i > 1497 then acc = acc .. s end
end
print("total length", parts, acc)

local num = setmetatable({}, { __tostring = function() return 42 end })
print(pcall(tostring, num))
local bad = setmetatable({}, { __tostring = function() return {} end })
print(pcall(tostring, bad))
local named = setmetatable({}, { __name = "MyType" })
print((tostring(named):gsub("0x%x+", "ADDR")))
print(pcall(function() return {} .. "x" end))
print(pcall(function() return named .. "x" end))
