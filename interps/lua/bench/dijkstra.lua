-- Shortest paths on a weighted grid, written as class-based Lua: a Grid of terrain costs
-- with walls, a binary-heap PriorityQueue with decrease-key (a position map from item to
-- heap slot), Dijkstra's algorithm from one corner, A* with a Manhattan-distance heuristic
-- to several targets, and path reconstruction rendered as text with a string buffer.
--
-- Each iteration generates a `size` x `size` grid from a deterministic generator, runs
-- Dijkstra from the top-left corner, checks the result is a shortest-path certificate (no
-- edge can shorten any distance, and every reached cell's distance is achieved through its
-- recorded predecessor), runs A* to eight targets and checks it finds the same distances,
-- and draws one path. The checksum combines distances, heap statistics and the drawing.

local floor = math.floor
local concat = table.concat

local function class()
  local c = {}
  c.__index = c
  return c
end

-- A Park-Miller generator (products below 2^53, the same on Lua 5.1 and 5.4).
local Random = class()

function Random.new(seed)
  return setmetatable({seed = seed}, Random)
end

function Random:range(lo, hi)
  self.seed = (self.seed * 16807) % 2147483647
  return lo + self.seed % (hi - lo + 1)
end

-- Priority queue ----------------------------------------------------------------------

-- A binary min-heap of integer items with numeric priorities. `pos[item]` is the item's
-- slot, so that an item's priority can be lowered in place.
local PriorityQueue = class()

function PriorityQueue.new()
  return setmetatable({items = {}, prio = {}, pos = {}, n = 0, pushes = 0, decreases = 0},
                      PriorityQueue)
end

function PriorityQueue:is_empty()
  return self.n == 0
end

function PriorityQueue:contains(item)
  return self.pos[item] ~= nil
end

function PriorityQueue:swap(i, j)
  local items, pos = self.items, self.pos
  local a, b = items[i], items[j]
  items[i], items[j] = b, a
  pos[a], pos[b] = j, i
end

function PriorityQueue:less(i, j)
  local prio, items = self.prio, self.items
  local pi, pj = prio[items[i]], prio[items[j]]
  if pi == pj then
    return items[i] < items[j] -- ties broken by item, so the order is deterministic
  end
  return pi < pj
end

function PriorityQueue:sift_up(i)
  while i > 1 do
    local parent = floor(i / 2)
    if not self:less(i, parent) then
      return
    end
    self:swap(i, parent)
    i = parent
  end
end

function PriorityQueue:sift_down(i)
  local n = self.n
  while true do
    local l = 2 * i
    if l > n then
      return
    end
    local smallest = l
    if l + 1 <= n and self:less(l + 1, l) then
      smallest = l + 1
    end
    if not self:less(smallest, i) then
      return
    end
    self:swap(i, smallest)
    i = smallest
  end
end

-- Insert `item`, or lower its priority if it is queued with a higher one.
function PriorityQueue:push(item, priority)
  local at = self.pos[item]
  if at then
    if priority < self.prio[item] then
      self.prio[item] = priority
      self.decreases = self.decreases + 1
      self:sift_up(at)
    end
    return
  end
  local n = self.n + 1
  self.n = n
  self.items[n] = item
  self.pos[item] = n
  self.prio[item] = priority
  self.pushes = self.pushes + 1
  self:sift_up(n)
end

-- Remove and return the item with the lowest priority, and that priority.
function PriorityQueue:pop()
  local items = self.items
  local top = items[1]
  local p = self.prio[top]
  self:swap(1, self.n)
  items[self.n] = nil
  self.n = self.n - 1
  self.pos[top] = nil
  self.prio[top] = nil
  if self.n > 0 then
    self:sift_down(1)
  end
  return top, p
end

-- The grid ------------------------------------------------------------------------------

local WALL = -1

local Grid = class()

-- Cells are numbered 1..w*h row by row; cost[c] is cell c's terrain cost (1-9) or WALL.
-- Walls are generated as line segments with gaps, so most cells stay reachable.
function Grid.new(w, h, seed)
  local rng = Random.new(seed)
  local cost = {}
  for c = 1, w * h do
    cost[c] = rng:range(1, 9)
  end
  local g = setmetatable({w = w, h = h, cost = cost}, Grid)
  for _ = 1, floor(w * h / 40) do
    local x, y = rng:range(1, w), rng:range(1, h)
    local horizontal = rng:range(0, 1) == 1
    for k = 0, rng:range(2, 8) do
      local cx, cy = x, y
      if horizontal then
        cx = x + k
      else
        cy = y + k
      end
      if cx <= w and cy <= h and rng:range(1, 6) > 1 then
        cost[g:cell(cx, cy)] = WALL
      end
    end
  end
  cost[1] = 1
  return g
end

function Grid:cell(x, y)
  return (y - 1) * self.w + x
end

function Grid:coords(c)
  local x = (c - 1) % self.w + 1
  return x, floor((c - 1) / self.w) + 1
end

-- The cost of a step from cell a to the neighbouring cell b: b's terrain cost plus the
-- height difference, so that a cell's distance depends on where it is entered from.
function Grid:step(a, b)
  local cost = self.cost
  local ca, cb = cost[a], cost[b]
  if ca > cb then
    return cb + ca - cb
  end
  return cb + cb - ca
end

-- Call fn(neighbour, step cost) for the open cells next to c (4-connected).
function Grid:each_neighbour(c, fn)
  local w, cost = self.w, self.cost
  local x = (c - 1) % w + 1
  if x > 1 and cost[c - 1] ~= WALL then
    fn(c - 1, self:step(c, c - 1))
  end
  if x < w and cost[c + 1] ~= WALL then
    fn(c + 1, self:step(c, c + 1))
  end
  if c > w and cost[c - w] ~= WALL then
    fn(c - w, self:step(c, c - w))
  end
  if c + w <= w * self.h and cost[c + w] ~= WALL then
    fn(c + w, self:step(c, c + w))
  end
end

-- Searches --------------------------------------------------------------------------------

local Search = class()

function Search.new(grid)
  return setmetatable({grid = grid, dist = {}, prev = {}, settled = 0, pushes = 0,
                       decreases = 0}, Search)
end

-- Dijkstra from `source` to every reachable cell.
function Search:dijkstra(source)
  local dist, prev = self.dist, self.prev
  local queue = PriorityQueue.new()
  dist[source] = 0
  queue:push(source, 0)
  local done = {}
  while not queue:is_empty() do
    local c, d = queue:pop()
    done[c] = true
    self.settled = self.settled + 1
    self.grid:each_neighbour(c, function(n, step)
      local nd = d + step
      if not done[n] and (dist[n] == nil or nd < dist[n]) then
        dist[n] = nd
        prev[n] = c
        queue:push(n, nd)
      end
    end)
  end
  self.pushes = self.pushes + queue.pushes
  self.decreases = self.decreases + queue.decreases
end

-- A* from `source` to `target`; returns the distance (nil if unreachable) and the number of
-- cells settled. The heuristic (Manhattan distance; every step costs at least 1) is
-- consistent.
function Search:astar(source, target)
  local grid = self.grid
  local tx, ty = grid:coords(target)
  local function h(c)
    local x, y = grid:coords(c)
    return math.abs(x - tx) + math.abs(y - ty)
  end
  local g = {[source] = 0}
  local queue = PriorityQueue.new()
  queue:push(source, h(source))
  local closed, settled = {}, 0
  while not queue:is_empty() do
    local c = queue:pop()
    if c == target then
      return g[c], settled
    end
    closed[c] = true
    settled = settled + 1
    local gc = g[c]
    grid:each_neighbour(c, function(n, step)
      local ng = gc + step
      if not closed[n] and (g[n] == nil or ng < g[n]) then
        g[n] = ng
        queue:push(n, ng + h(n))
      end
    end)
  end
  return nil, settled
end

-- Check the distances are a shortest-path certificate.
function Search:verify(source)
  local grid, dist, prev = self.grid, self.dist, self.prev
  for c = 1, grid.w * grid.h do
    local d = dist[c]
    if d ~= nil then
      grid:each_neighbour(c, function(n, step)
        assert(dist[n] ~= nil and dist[n] <= d + step, "an edge shortens a distance")
      end)
      if c ~= source then
        assert(dist[prev[c]] + grid:step(prev[c], c) == d,
               "predecessor does not give the distance")
      end
    end
  end
end

-- The path from the source to `target` drawn on the grid: '#' walls, '*' the path, '.' the
-- other cells; rows joined with newlines.
function Search:draw(target)
  local grid = self.grid
  local on_path = {}
  local c, steps = target, 0
  while c ~= nil do
    on_path[c] = true
    steps = steps + 1
    c = self.prev[c]
  end
  local rows = {}
  for y = 1, grid.h do
    local row = {}
    for x = 1, grid.w do
      local cell = grid:cell(x, y)
      if grid.cost[cell] == WALL then
        row[x] = "#"
      elseif on_path[cell] then
        row[x] = "*"
      else
        row[x] = "."
      end
    end
    rows[y] = concat(row)
  end
  return concat(rows, "\n"), steps
end

-- The benchmark ---------------------------------------------------------------------------

local function text_hash(s)
  local h = 0
  for i = 1, #s do
    h = (h * 31 + string.byte(s, i)) % 2147483647
  end
  return h
end

function bench(size)
  local grid = Grid.new(size, size, 2024)
  local search = Search.new(grid)
  search:dijkstra(1)
  search:verify(1)

  local reached, total, far = 0, 0, 1
  for c = 1, size * size do
    local d = search.dist[c]
    if d then
      reached = reached + 1
      total = total + d
      if d > search.dist[far] then
        far = c
      end
    end
  end

  -- A* to eight targets spread over the grid must agree with Dijkstra.
  local rng = Random.new(77)
  local astar_settled = 0
  for _ = 1, 8 do
    local target = grid:cell(rng:range(1, size), rng:range(1, size))
    while grid.cost[target] == WALL do
      target = target % (size * size) + 1
    end
    local d, settled = search:astar(1, target)
    assert(d == search.dist[target], "A* and Dijkstra disagree")
    astar_settled = astar_settled + settled
  end

  local picture, steps = search:draw(far)
  return string.format("%d %d %d %d %d %d %d", reached, total, search.dist[far], steps,
                       search.pushes + search.decreases, astar_settled, text_hash(picture))
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
