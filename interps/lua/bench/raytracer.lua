-- A recursive ray tracer written as class-based Lua: a Vector class with __add, __sub,
-- __mul, __unm and __div metamethods, a Color class, a Ray, scene objects sharing a Thing
-- interface through inheritance (spheres and a checkerboard plane with surface classes
-- for shiny and matte finishes), point lights, a camera and a Scene whose trace method
-- follows reflections recursively with shadows and specular highlights.
--
-- Each iteration renders a `size` x `size` image of a fixed scene, quantises every pixel to
-- bytes, and builds a PPM text image in a buffer. It checks that every channel stays in
-- range, that the pixel at the image centre sees the front sphere, and that a ray aimed
-- away from everything returns the background. The checksum is a hash of the PPM text and
-- the sum of the bytes.

local sqrt, floor = math.sqrt, math.floor
local concat, format = table.concat, string.format

local function class(parent)
  local c = {}
  c.__index = c
  if parent then
    setmetatable(c, {__index = parent})
  end
  return c
end

-- Vectors -------------------------------------------------------------------------------

local Vector = class()

local function vec(x, y, z)
  return setmetatable({x = x, y = y, z = z}, Vector)
end

function Vector.__add(a, b)
  return vec(a.x + b.x, a.y + b.y, a.z + b.z)
end

function Vector.__sub(a, b)
  return vec(a.x - b.x, a.y - b.y, a.z - b.z)
end

function Vector.__mul(a, b)
  if type(a) == "number" then
    return vec(a * b.x, a * b.y, a * b.z)
  end
  return vec(a.x * b, a.y * b, a.z * b)
end

function Vector.__div(a, k)
  return vec(a.x / k, a.y / k, a.z / k)
end

function Vector.__unm(a)
  return vec(-a.x, -a.y, -a.z)
end

function Vector:dot(b)
  return self.x * b.x + self.y * b.y + self.z * b.z
end

function Vector:cross(b)
  return vec(self.y * b.z - self.z * b.y, self.z * b.x - self.x * b.z,
             self.x * b.y - self.y * b.x)
end

function Vector:length()
  return sqrt(self:dot(self))
end

function Vector:norm()
  local len = self:length()
  return self / (len == 0 and math.huge or len)
end

-- Colours -------------------------------------------------------------------------------

local Color = class()

local function rgb(r, g, b)
  return setmetatable({r = r, g = g, b = b}, Color)
end

function Color.__add(a, b)
  return rgb(a.r + b.r, a.g + b.g, a.b + b.b)
end

-- A colour times a number, or two colours component-wise.
function Color.__mul(a, b)
  if type(a) == "number" then
    return rgb(a * b.r, a * b.g, a * b.b)
  elseif type(b) == "number" then
    return rgb(a.r * b, a.g * b, a.b * b)
  end
  return rgb(a.r * b.r, a.g * b.g, a.b * b.b)
end

local function to_byte(c)
  local v = floor((c > 1 and 1 or c) * 255)
  return v
end

function Color:bytes()
  return to_byte(self.r), to_byte(self.g), to_byte(self.b)
end

local WHITE, GREY, BLACK = rgb(1, 1, 1), rgb(0.5, 0.5, 0.5), rgb(0, 0, 0)
local BACKGROUND = BLACK
local DEFAULT_COLOR = BLACK

-- Rays, camera, lights -----------------------------------------------------------------

local Ray = class()

function Ray.new(start, dir)
  return setmetatable({start = start, dir = dir}, Ray)
end

local Camera = class()

function Camera.new(pos, look_at)
  local down = vec(0, -1, 0)
  local forward = (look_at - pos):norm()
  local right = 1.5 * forward:cross(down):norm()
  local up = 1.5 * forward:cross(right):norm()
  return setmetatable({pos = pos, forward = forward, right = right, up = up}, Camera)
end

local Light = class()

function Light.new(pos, color)
  return setmetatable({pos = pos, color = color}, Light)
end

-- Surfaces ------------------------------------------------------------------------------

local Surface = class()

function Surface.new(roughness, diffuse, specular, reflect)
  return setmetatable({roughness = roughness, diffuse_fn = diffuse, specular_fn = specular,
                       reflect_fn = reflect}, Surface)
end

function Surface:diffuse(pos)
  return self.diffuse_fn(pos)
end

function Surface:specular(pos)
  return self.specular_fn(pos)
end

function Surface:reflect(pos)
  return self.reflect_fn(pos)
end

local SHINY = Surface.new(250, function() return WHITE end, function() return GREY end,
                          function() return 0.7 end)

local function checker_on(pos)
  return (floor(pos.z) + floor(pos.x)) % 2 ~= 0
end

local CHECKERBOARD = Surface.new(150,
  function(pos) return checker_on(pos) and WHITE or BLACK end,
  function() return WHITE end,
  function(pos) return checker_on(pos) and 0.1 or 0.7 end)

local MATTE = Surface.new(10, function() return rgb(0.9, 0.4, 0.2) end,
                          function() return BLACK end, function() return 0 end)

-- Things --------------------------------------------------------------------------------

-- A scene object: intersect(ray) returns the distance along the ray of the nearest hit (or
-- nil), and normal(pos) the surface normal there.
local Thing = class()

function Thing:init(surface)
  self.surface = surface
end

local Sphere = class(Thing)

function Sphere.new(center, radius, surface)
  local s = setmetatable({center = center, radius2 = radius * radius}, Sphere)
  s:init(surface)
  return s
end

function Sphere:intersect(ray)
  local eo = self.center - ray.start
  local v = eo:dot(ray.dir)
  if v < 0 then
    return nil
  end
  local disc = self.radius2 - (eo:dot(eo) - v * v)
  if disc < 0 then
    return nil
  end
  local dist = v - sqrt(disc)
  if dist <= 0 then
    return nil
  end
  return dist
end

function Sphere:normal(pos)
  return (pos - self.center):norm()
end

local Plane = class(Thing)

function Plane.new(norm, offset, surface)
  local p = setmetatable({norm = norm, offset = offset}, Plane)
  p:init(surface)
  return p
end

function Plane:intersect(ray)
  local denom = self.norm:dot(ray.dir)
  if denom > 0 then
    return nil
  end
  return (self.norm:dot(ray.start) + self.offset) / -denom
end

function Plane:normal()
  return self.norm
end

-- The scene -----------------------------------------------------------------------------

local MAX_DEPTH = 4

local Scene = class()

function Scene.new()
  return setmetatable({
    things = {
      Plane.new(vec(0, 1, 0), 0, CHECKERBOARD),
      Sphere.new(vec(0, 1, -0.25), 1, SHINY),
      Sphere.new(vec(-1, 0.5, 1.5), 0.5, SHINY),
      Sphere.new(vec(1.6, 0.4, 0.9), 0.4, MATTE),
    },
    lights = {
      Light.new(vec(-2, 2.5, 0), rgb(0.49, 0.07, 0.07)),
      Light.new(vec(1.5, 2.5, 1.5), rgb(0.07, 0.07, 0.49)),
      Light.new(vec(1.5, 2.5, -1.5), rgb(0.07, 0.49, 0.071)),
      Light.new(vec(0, 3.5, 0), rgb(0.21, 0.21, 0.35)),
    },
    camera = Camera.new(vec(3, 2, 4), vec(-1, 0.5, 0)),
    rays = 0,
  }, Scene)
end

-- The nearest thing the ray hits and the distance, or nil.
function Scene:intersect(ray)
  self.rays = self.rays + 1
  local closest, closest_thing = math.huge, nil
  for _, thing in ipairs(self.things) do
    local d = thing:intersect(ray)
    if d and d < closest then
      closest, closest_thing = d, thing
    end
  end
  return closest_thing, closest
end

function Scene:test_ray(ray)
  local thing, dist = self:intersect(ray)
  if thing then
    return dist
  end
  return nil
end

function Scene:trace(ray, depth)
  local thing, dist = self:intersect(ray)
  if thing == nil then
    return BACKGROUND
  end
  return self:shade(thing, ray, dist, depth)
end

function Scene:shade(thing, ray, dist, depth)
  local d = ray.dir
  local pos = dist * d + ray.start
  local normal = thing:normal(pos)
  local reflect_dir = d - 2 * normal:dot(d) * normal
  local color = BACKGROUND + self:natural_color(thing, pos, normal, reflect_dir)
  if depth >= MAX_DEPTH then
    return color + GREY
  end
  return color + self:reflection_color(thing, pos, reflect_dir, depth)
end

function Scene:reflection_color(thing, pos, rd, depth)
  local k = thing.surface:reflect(pos)
  if k == 0 then
    return BLACK
  end
  return k * self:trace(Ray.new(pos, rd), depth + 1)
end

function Scene:natural_color(thing, pos, norm, rd)
  local color = DEFAULT_COLOR
  local surface = thing.surface
  for _, light in ipairs(self.lights) do
    local ldis = light.pos - pos
    local livec = ldis:norm()
    local near = self:test_ray(Ray.new(pos, livec))
    local in_shadow = near ~= nil and near <= ldis:length()
    if not in_shadow then
      local illum = livec:dot(norm)
      local lcolor = illum > 0 and illum * light.color or DEFAULT_COLOR
      local spec = livec:dot(rd:norm())
      local scolor = spec > 0 and (spec ^ surface.roughness) * light.color or DEFAULT_COLOR
      color = color + surface:diffuse(pos) * lcolor + surface:specular(pos) * scolor
    end
  end
  return color
end

-- The direction through pixel (x, y) of a w x h image.
function Scene:point(x, y, w, h)
  local cam = self.camera
  local rx = (x - w / 2) / 2 / w
  local ry = -(y - h / 2) / 2 / h
  return (cam.forward + rx * cam.right + ry * cam.up):norm()
end

function Scene:render(w, h)
  local pixels = {}
  for y = 0, h - 1 do
    for x = 0, w - 1 do
      local c = self:trace(Ray.new(self.camera.pos, self:point(x, y, w, h)), 0)
      pixels[#pixels + 1] = c
    end
  end
  return pixels
end

-- The benchmark ---------------------------------------------------------------------------

function bench(size)
  local scene = Scene.new()
  local pixels = scene:render(size, size)
  local lines = {format("P3\n%d %d\n255", size, size)}
  local sum = 0
  for i, c in ipairs(pixels) do
    local r, g, b = c:bytes()
    assert(r >= 0 and r <= 255 and g >= 0 and g <= 255 and b >= 0 and b <= 255,
           "colour out of range")
    sum = sum + r + g + b
    lines[#lines + 1] = format("%d %d %d", r, g, b)
    if i % size == 0 then
      lines[#lines] = lines[#lines] .. "\n"
    end
  end
  local ppm = concat(lines, " ")

  -- The centre of the image looks at the big sphere.
  local cam = scene.camera
  local thing = scene:intersect(Ray.new(cam.pos, scene:point(size / 2, size / 2, size, size)))
  assert(thing == scene.things[2], "the centre ray missed the big sphere")
  -- Looking straight up sees nothing.
  assert(scene:trace(Ray.new(cam.pos, vec(0, 1, 0)), 0) == BACKGROUND, "the sky is not empty")

  local h = 0
  for i = 1, #ppm, 3 do
    h = (h * 31 + string.byte(ppm, i)) % 2147483647
  end
  return format("%d %d %d", sum, h, #ppm)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
