-- jit: compiled
-- Run-time:
--   stdout:
--     blob with area 0
--     rect with area 6
--     a square with area 16
--     circle with area 12
--     total	39988	rect	9000	square	12988	circle	18000
--     true	true	nil

-- Object-oriented Lua: classes as metatables with __index chains, method calls with `:`,
-- overriding and calling the superclass method, and many method calls in hot loops.

local Shape = {}
Shape.__index = Shape
function Shape.new(name) return setmetatable({ name = name }, Shape) end
function Shape:area() return 0 end
function Shape:describe() return self.name .. " with area " .. self:area() end

local Rect = setmetatable({}, { __index = Shape })
Rect.__index = Rect
function Rect.new(w, h)
  local r = Shape.new("rect")
  r.w, r.h = w, h
  return setmetatable(r, Rect)
end
function Rect:area() return self.w * self.h end

local Square = setmetatable({}, { __index = Rect })
Square.__index = Square
function Square.new(s)
  local sq = Rect.new(s, s)
  sq.name = "square"
  return setmetatable(sq, Square)
end
function Square:describe() return "a " .. Rect.describe(self) end

local Circle = setmetatable({}, { __index = Shape })
Circle.__index = Circle
function Circle.new(r)
  local c = Shape.new("circle")
  c.r = r
  return setmetatable(c, Circle)
end
function Circle:area() return 3 * self.r * self.r end -- an integer approximation of pi

print(Shape.new("blob"):describe())
print(Rect.new(2, 3):describe())
print(Square.new(4):describe())
print(Circle.new(2):describe())

local shapes = {}
for i = 1, 3000 do
  local k = i % 3
  if k == 0 then shapes[i] = Rect.new(i % 10, 2)
  elseif k == 1 then shapes[i] = Square.new(i % 7)
  else shapes[i] = Circle.new(i % 5) end
end
local total, by = 0, { rect = 0, square = 0, circle = 0 }
for _, s in ipairs(shapes) do
  local a = s:area()
  total = total + a
  by[s.name] = by[s.name] + a
end
print("total", total, "rect", by.rect, "square", by.square, "circle", by.circle)
print(getmetatable(Square.new(1)) == Square, Square.area == Rect.area, rawget(Square, "area"))
