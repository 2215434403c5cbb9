-- jit: compiled
-- Run-time:
--   stdout:
--     (4, 6)	(-2, -2)	(2, 4)	(9, 12)	11
--     (1.5, 2.0)	(1, 2)	(0, 1)	(1.0, 4.0)	(-1, -2)
--     true	true	true	false
--     position	(0, 0)
--     accumulated	(166500, 1200)
--     false	meta_arith.lua:19: attempt to index a number value (local 'b')
--     false	meta_arith.lua:50: attempt to perform arithmetic on a table value

-- Arithmetic metamethods on a 2D vector type: __add, __sub, __mul (vector*scalar and
-- scalar*vector), __div, __unm, __idiv, __mod, __pow, plus __eq and __tostring, used in a
-- hot loop; and the error when no metamethod exists.

local V = {}
V.__index = V
local function vec(x, y) return setmetatable({ x = x, y = y }, V) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__sub = function(a, b) return vec(a.x - b.x, a.y - b.y) end
V.__mul = function(a, b)
  if type(a) == "number" then return vec(a * b.x, a * b.y) end
  if type(b) == "number" then return vec(a.x * b, a.y * b) end
  return a.x * b.x + a.y * b.y -- dot product
end
V.__div = function(a, k) return vec(a.x / k, a.y / k) end
V.__idiv = function(a, k) return vec(a.x // k, a.y // k) end
V.__mod = function(a, k) return vec(a.x % k, a.y % k) end
V.__pow = function(a, k) return vec(a.x ^ k, a.y ^ k) end
V.__unm = function(a) return vec(-a.x, -a.y) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__tostring = function(a) return "(" .. a.x .. ", " .. a.y .. ")" end

local a, b = vec(1, 2), vec(3, 4)
print(tostring(a + b), tostring(a - b), tostring(a * 2), tostring(3 * b), a * b)
print(tostring(b / 2), tostring(b // 2), tostring(b % 3), tostring(a ^ 2), tostring(-a))
print(a == vec(1, 2), a ~= b, a == a, rawequal(a, vec(1, 2)))

local pos, vel = vec(0, 0), vec(1, -1)
for i = 1, 2000 do
  pos = pos + vel * 2
  if i % 500 == 0 then vel = -vel end
end
print("position", tostring(pos))

local acc = vec(0, 0)
for i = 1, 1000 do acc = acc + vec(i, i % 10) // 3 end
print("accumulated", tostring(acc))
print(pcall(function() return a + 1 end))
print(pcall(function() return {} + 1 end))
