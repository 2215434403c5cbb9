-- A collision-detection simulation in the style of the CD benchmark (aircraft reported
-- frame by frame; find the pairs whose straight-line motions since the last frame bring them
-- within a proximity radius). Written as class-based Lua: 3-D vectors as objects with
-- __add, __sub, __mul and __eq metamethods, a red-black tree (with deletion) mapping call
-- signs to last known positions, motions between frames, and a spatial hash of 2-D voxels
-- filled by a recursive flood fill along each motion, so that only aircraft sharing a voxel
-- are compared.
--
-- Each iteration simulates `size` frames of a fixed fleet flying on overlapping circles at a
-- few altitudes; aircraft leave the airspace for a frame now and then (deleted from the tree)
-- and come back. Every 8th frame the voxel answer is checked against an all-pairs search,
-- and the tree's red-black invariants are checked at the end. The checksum is the number of
-- collisions and a sum over the colliding pairs.

local floor, sin, cos = math.floor, math.sin, math.cos
local format = string.format

local function class()
  local c = {}
  c.__index = c
  return c
end

local NUM_AIRCRAFT = 80
local PROXIMITY_RADIUS = 1.0
local VOXEL_SIZE = 2 * PROXIMITY_RADIUS

-- Vectors -------------------------------------------------------------------------------

local Vector3 = class()

local function vec(x, y, z)
  return setmetatable({x = x, y = y, z = z}, Vector3)
end
Vector3.new = vec

function Vector3.__add(a, b)
  return vec(a.x + b.x, a.y + b.y, a.z + b.z)
end

function Vector3.__sub(a, b)
  return vec(a.x - b.x, a.y - b.y, a.z - b.z)
end

-- A vector times a number, either way round.
function Vector3.__mul(a, b)
  if type(a) == "number" then
    return vec(b.x * a, b.y * a, b.z * a)
  end
  return vec(a.x * b, a.y * b, a.z * b)
end

function Vector3.__eq(a, b)
  return a.x == b.x and a.y == b.y and a.z == b.z
end

function Vector3:__tostring()
  return format("(%.3f, %.3f, %.3f)", self.x, self.y, self.z)
end

function Vector3:dot(other)
  return self.x * other.x + self.y * other.y + self.z * other.z
end

function Vector3:squared_magnitude()
  return self:dot(self)
end

function Vector3:magnitude()
  return math.sqrt(self:squared_magnitude())
end

-- A red-black tree ---------------------------------------------------------------------

-- An ordered map with the usual red-black invariants; a per-tree black sentinel stands for
-- every missing child, as in Cormen et al.
local RED, BLACK = true, false

local RedBlackTree = class()

function RedBlackTree.new()
  local sentinel = {color = BLACK}
  sentinel.left, sentinel.right, sentinel.parent = sentinel, sentinel, sentinel
  return setmetatable({root = sentinel, nil_node = sentinel, count = 0}, RedBlackTree)
end

function RedBlackTree:find_node(key)
  local x, nil_node = self.root, self.nil_node
  while x ~= nil_node do
    if key == x.key then
      return x
    elseif key < x.key then
      x = x.left
    else
      x = x.right
    end
  end
  return nil
end

function RedBlackTree:get(key)
  local n = self:find_node(key)
  return n and n.value
end

function RedBlackTree:rotate_left(x)
  local y = x.right
  x.right = y.left
  if y.left ~= self.nil_node then
    y.left.parent = x
  end
  y.parent = x.parent
  if x.parent == self.nil_node then
    self.root = y
  elseif x == x.parent.left then
    x.parent.left = y
  else
    x.parent.right = y
  end
  y.left = x
  x.parent = y
end

function RedBlackTree:rotate_right(x)
  local y = x.left
  x.left = y.right
  if y.right ~= self.nil_node then
    y.right.parent = x
  end
  y.parent = x.parent
  if x.parent == self.nil_node then
    self.root = y
  elseif x == x.parent.right then
    x.parent.right = y
  else
    x.parent.left = y
  end
  y.right = x
  x.parent = y
end

-- Set key's value; returns the previous value, if any.
function RedBlackTree:put(key, value)
  local nil_node = self.nil_node
  local parent, x = nil_node, self.root
  while x ~= nil_node do
    parent = x
    if key == x.key then
      local old = x.value
      x.value = value
      return old
    elseif key < x.key then
      x = x.left
    else
      x = x.right
    end
  end
  local z = {key = key, value = value, color = RED, left = nil_node, right = nil_node,
             parent = parent}
  if parent == nil_node then
    self.root = z
  elseif key < parent.key then
    parent.left = z
  else
    parent.right = z
  end
  self.count = self.count + 1
  self:insert_fixup(z)
  return nil
end

function RedBlackTree:insert_fixup(z)
  while z.parent.color == RED do
    local p = z.parent
    local g = p.parent
    if p == g.left then
      local uncle = g.right
      if uncle.color == RED then
        p.color, uncle.color, g.color = BLACK, BLACK, RED
        z = g
      else
        if z == p.right then
          z = p
          self:rotate_left(z)
          p = z.parent
        end
        p.color, g.color = BLACK, RED
        self:rotate_right(g)
      end
    else
      local uncle = g.left
      if uncle.color == RED then
        p.color, uncle.color, g.color = BLACK, BLACK, RED
        z = g
      else
        if z == p.left then
          z = p
          self:rotate_right(z)
          p = z.parent
        end
        p.color, g.color = BLACK, RED
        self:rotate_left(g)
      end
    end
  end
  self.root.color = BLACK
end

function RedBlackTree:transplant(u, v)
  if u.parent == self.nil_node then
    self.root = v
  elseif u == u.parent.left then
    u.parent.left = v
  else
    u.parent.right = v
  end
  v.parent = u.parent
end

function RedBlackTree:minimum(x)
  while x.left ~= self.nil_node do
    x = x.left
  end
  return x
end

-- Remove key; returns its value, or nil if it was not there.
function RedBlackTree:remove(key)
  local z = self:find_node(key)
  if z == nil then
    return nil
  end
  local nil_node = self.nil_node
  local y, y_color, x = z, z.color, nil
  if z.left == nil_node then
    x = z.right
    self:transplant(z, z.right)
  elseif z.right == nil_node then
    x = z.left
    self:transplant(z, z.left)
  else
    y = self:minimum(z.right)
    y_color = y.color
    x = y.right
    if y.parent == z then
      x.parent = y
    else
      self:transplant(y, y.right)
      y.right = z.right
      y.right.parent = y
    end
    self:transplant(z, y)
    y.left = z.left
    y.left.parent = y
    y.color = z.color
  end
  if y_color == BLACK then
    self:remove_fixup(x)
  end
  self.count = self.count - 1
  return z.value
end

function RedBlackTree:remove_fixup(x)
  while x ~= self.root and x.color == BLACK do
    local p = x.parent
    if x == p.left then
      local w = p.right
      if w.color == RED then
        w.color, p.color = BLACK, RED
        self:rotate_left(p)
        w = p.right
      end
      if w.left.color == BLACK and w.right.color == BLACK then
        w.color = RED
        x = p
      else
        if w.right.color == BLACK then
          w.left.color, w.color = BLACK, RED
          self:rotate_right(w)
          w = p.right
        end
        w.color, p.color, w.right.color = p.color, BLACK, BLACK
        self:rotate_left(p)
        x = self.root
      end
    else
      local w = p.left
      if w.color == RED then
        w.color, p.color = BLACK, RED
        self:rotate_right(p)
        w = p.left
      end
      if w.right.color == BLACK and w.left.color == BLACK then
        w.color = RED
        x = p
      else
        if w.left.color == BLACK then
          w.right.color, w.color = BLACK, RED
          self:rotate_left(w)
          w = p.left
        end
        w.color, p.color, w.left.color = p.color, BLACK, BLACK
        self:rotate_right(p)
        x = self.root
      end
    end
  end
  x.color = BLACK
end

-- Call fn(key, value) in key order.
function RedBlackTree:for_each(fn)
  local nil_node = self.nil_node
  local function walk(n)
    if n ~= nil_node then
      walk(n.left)
      fn(n.key, n.value)
      walk(n.right)
    end
  end
  walk(self.root)
end

-- Check the invariants (ordering, no red node with a red child, the same number of black
-- nodes on every path, a black root, the right count); returns the black height.
function RedBlackTree:validate()
  local nil_node = self.nil_node
  local seen = 0
  local function check(n, lo, hi)
    if n == nil_node then
      return 1
    end
    seen = seen + 1
    assert((lo == nil or lo < n.key) and (hi == nil or n.key < hi), "tree out of order")
    if n.color == RED then
      assert(n.left.color == BLACK and n.right.color == BLACK, "red node with a red child")
    end
    local l = check(n.left, lo, n.key)
    local r = check(n.right, n.key, hi)
    assert(l == r, "unequal black heights")
    return l + (n.color == BLACK and 1 or 0)
  end
  assert(self.root.color == BLACK, "red root")
  local h = check(self.root, nil, nil)
  assert(seen == self.count, "wrong node count")
  return h
end

-- Motions and collisions ----------------------------------------------------------------

local Motion = class()

function Motion.new(callsign, pos_one, pos_two)
  return setmetatable({callsign = callsign, pos_one = pos_one, pos_two = pos_two}, Motion)
end

function Motion:delta()
  return self.pos_two - self.pos_one
end

-- If the two aircraft come within PROXIMITY_RADIUS of each other while both move at constant
-- speed from pos_one to pos_two, the position of `self` at their closest approach.
function Motion:find_intersection(other)
  local d0 = self.pos_one - other.pos_one
  local dv = self:delta() - other:delta()
  local a = dv:squared_magnitude()
  local t = 0
  if a > 1e-12 then
    t = -d0:dot(dv) / a
    if t < 0 then
      t = 0
    elseif t > 1 then
      t = 1
    end
  end
  local closest = d0 + dv * t
  if closest:squared_magnitude() <= PROXIMITY_RADIUS * PROXIMITY_RADIUS then
    return self.pos_one + t * self:delta()
  end
  return nil
end

-- Whether the motion, widened by PROXIMITY_RADIUS, passes through the voxel (vx, vy): the
-- slab test of the x-y projection of the segment against the widened box.
function Motion:in_voxel(vx, vy)
  local lo_x, lo_y = vx * VOXEL_SIZE - PROXIMITY_RADIUS, vy * VOXEL_SIZE - PROXIMITY_RADIUS
  local hi_x, hi_y = lo_x + VOXEL_SIZE + 2 * PROXIMITY_RADIUS,
    lo_y + VOXEL_SIZE + 2 * PROXIMITY_RADIUS
  local p, d = self.pos_one, self:delta()
  local t0, t1 = 0, 1
  local function slab(start, dir, lo, hi)
    if dir == 0 then
      return start >= lo and start <= hi
    end
    local ta, tb = (lo - start) / dir, (hi - start) / dir
    if ta > tb then
      ta, tb = tb, ta
    end
    if ta > t0 then
      t0 = ta
    end
    if tb < t1 then
      t1 = tb
    end
    return t0 <= t1
  end
  return slab(p.x, d.x, lo_x, hi_x) and slab(p.y, d.y, lo_y, hi_y)
end

local function pair_key(a, b)
  if a < b then
    return a .. "/" .. b
  end
  return b .. "/" .. a
end

-- A spatial hash: voxel key -> the motions passing through it, keys in first-seen order.
local VoxelMap = class()

function VoxelMap.new()
  return setmetatable({cells = {}, keys = {}}, VoxelMap)
end

function VoxelMap:add(key, motion)
  local cell = self.cells[key]
  if cell == nil then
    cell = {}
    self.cells[key] = cell
    self.keys[#self.keys + 1] = key
  end
  cell[#cell + 1] = motion
end

-- Flood-fill the voxels a motion passes through, starting from the one it starts in.
function VoxelMap:draw(motion)
  local visited = {}
  local function fill(vx, vy)
    local key = vx .. "," .. vy
    if visited[key] then
      return
    end
    visited[key] = true
    if not motion:in_voxel(vx, vy) then
      return
    end
    self:add(key, motion)
    for dx = -1, 1 do
      for dy = -1, 1 do
        if dx ~= 0 or dy ~= 0 then
          fill(vx + dx, vy + dy)
        end
      end
    end
  end
  local start = motion.pos_one
  fill(floor(start.x / VOXEL_SIZE), floor(start.y / VOXEL_SIZE))
end

local CollisionDetector = class()

function CollisionDetector.new()
  return setmetatable({state = RedBlackTree.new()}, CollisionDetector)
end

-- Update the state with a frame ({callsign, position} records) and return the list of
-- colliding pairs' keys (sorted) and the motions.
function CollisionDetector:handle_frame(frame)
  local motions = {}
  local present = {}
  for _, a in ipairs(frame) do
    local old = self.state:put(a.callsign, a.position)
    present[a.callsign] = true
    motions[#motions + 1] = Motion.new(a.callsign, old or a.position, a.position)
  end
  local gone = {}
  self.state:for_each(function(key)
    if not present[key] then
      gone[#gone + 1] = key
    end
  end)
  for _, key in ipairs(gone) do
    self.state:remove(key)
  end

  local map = VoxelMap.new()
  for _, m in ipairs(motions) do
    map:draw(m)
  end
  local found, pairs_found = {}, {}
  for _, key in ipairs(map.keys) do
    local cell = map.cells[key]
    for i = 1, #cell - 1 do
      for j = i + 1, #cell do
        local a, b = cell[i], cell[j]
        local pk = pair_key(a.callsign, b.callsign)
        if not found[pk] and a:find_intersection(b) then
          found[pk] = true
          pairs_found[#pairs_found + 1] = pk
        end
      end
    end
  end
  table.sort(pairs_found)
  return pairs_found, motions
end

-- The all-pairs answer, to check the voxel one.
local function brute_force(motions)
  local result = {}
  for i = 1, #motions - 1 do
    for j = i + 1, #motions do
      if motions[i]:find_intersection(motions[j]) then
        result[#result + 1] = pair_key(motions[i].callsign, motions[j].callsign)
      end
    end
  end
  table.sort(result)
  return table.concat(result, " ")
end

-- The simulation ------------------------------------------------------------------------

local Simulator = class()

function Simulator.new(n)
  local planes = {}
  for i = 1, n do
    planes[i] = {
      callsign = format("AC%04d", i),
      number = i,
      cx = 100 + (i % 10) * 7,
      cy = 100 + (i % 9) * 8,
      r = 20 + (i % 13) * 3,
      speed = (0.02 + (i % 7) * 0.004) * ((i % 2 == 0) and 1 or -1),
      phase = i * 0.7,
      z = 5 + (i % 3) * 0.5,
    }
  end
  return setmetatable({planes = planes}, Simulator)
end

function Simulator:frame(t)
  local frame = {}
  for _, p in ipairs(self.planes) do
    -- Each aircraft is out of the airspace one frame in 23.
    if (t + p.number) % 23 ~= 0 then
      local angle = p.phase + p.speed * t
      frame[#frame + 1] = {callsign = p.callsign,
                           position = vec(p.cx + p.r * cos(angle), p.cy + p.r * sin(angle), p.z)}
    end
  end
  return frame
end

function bench(size)
  local sim = Simulator.new(NUM_AIRCRAFT)
  local detector = CollisionDetector.new()
  local collisions, pair_sum = 0, 0
  for t = 0, size - 1 do
    local found, motions = detector:handle_frame(sim:frame(t))
    if t % 8 == 0 then
      assert(table.concat(found, " ") == brute_force(motions), "voxel search missed a pair")
    end
    collisions = collisions + #found
    for _, pk in ipairs(found) do
      local a, b = pk:match("^AC(%d+)/AC(%d+)$")
      pair_sum = (pair_sum + tonumber(a) * tonumber(b) + t) % 1000000007
    end
  end
  local height = detector.state:validate()
  -- A vector sanity check: the metamethods agree with each other.
  local v = vec(1, 2, 3)
  assert((v + v) == 2 * v and (v * 3 - v) == vec(2, 4, 6), "vector arithmetic")
  return format("%d %d %d %d", collisions, pair_sum, detector.state.count, height)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
