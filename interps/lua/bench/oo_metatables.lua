-- Object orientation with metatables: classes via __index, single inheritance, method calls
-- with `:`, overridden methods and arithmetic/comparison metamethods (__add, __eq, __lt).

local Vec = {}
Vec.__index = Vec

function Vec.new(x, y)
  return setmetatable({x = x, y = y}, Vec)
end

function Vec.__add(a, b)
  return Vec.new(a.x + b.x, a.y + b.y)
end

function Vec.__eq(a, b)
  return a.x == b.x and a.y == b.y
end

function Vec.__lt(a, b)
  return a:norm1() < b:norm1()
end

function Vec:norm1()
  return math.abs(self.x) + math.abs(self.y)
end

-- Shapes: a base class and two subclasses overriding `area`.
local Shape = {}
Shape.__index = Shape

function Shape.new(origin)
  return setmetatable({origin = origin}, Shape)
end

function Shape:area()
  return 0
end

function Shape:describe()
  return self:area() + self.origin:norm1()
end

local Rect = setmetatable({}, {__index = Shape})
Rect.__index = Rect

function Rect.new(origin, w, h)
  local r = Shape.new(origin)
  r.w, r.h = w, h
  return setmetatable(r, Rect)
end

function Rect:area()
  return self.w * self.h
end

local Square = setmetatable({}, {__index = Rect})
Square.__index = Square

function Square.new(origin, s)
  local r = Rect.new(origin, s, s)
  return setmetatable(r, Square)
end

function Square:area()
  return Rect.area(self) + 1
end

local function bench(size)
  local total = 0
  local acc = Vec.new(0, 0)
  local step = Vec.new(1, -2)
  local shapes = {}
  for i = 1, size do
    acc = acc + step
    if acc == Vec.new(i, -2 * i) then
      total = total + 1
    end
    local o = Vec.new(i % 17, -(i % 5))
    local s
    if i % 3 == 0 then
      s = Shape.new(o)
    elseif i % 3 == 1 then
      s = Rect.new(o, i % 7, i % 11)
    else
      s = Square.new(o, i % 9)
    end
    shapes[(i % 64) + 1] = s
    total = total + s:describe()
    if step < acc then
      total = total + 2
    end
  end
  for i = 1, #shapes do
    total = total + shapes[i]:area()
  end
  return total
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
