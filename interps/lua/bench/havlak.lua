-- Loop recognition in a control-flow graph with Havlak's algorithm (P. Havlak, "Nesting of
-- Reducible and Irreducible Loops", TOPLAS 1997), the algorithm of Hundt's "Loop Recognition
-- in C++/Java/Go/Scala" comparison, written as class-based Lua: basic blocks and edges, a CFG,
-- a union-find forest with path compression, a depth-first numbering, and a loop structure
-- graph whose simple loops form a nesting tree.
--
-- Each iteration builds a generated CFG with `size` groups of nested loops (each loop body
-- has if/else diamonds, some loops have several back edges, some blocks loop on themselves),
-- finds its loops, computes their nesting, and checks the loop count,
-- the nesting depths and the irreducible count against what the generator built. It then
-- does the same for a variant in which each group's outer loop has a second entry into its
-- body, which makes it irreducible. The checksum is a summary of both loop trees.

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

-- The control-flow graph ---------------------------------------------------------------

local BasicBlock = class()

function BasicBlock.new(name)
  return setmetatable({name = name, in_edges = {}, out_edges = {}}, BasicBlock)
end

function BasicBlock:add_out_edge(to)
  self.out_edges[#self.out_edges + 1] = to
end

function BasicBlock:add_in_edge(from)
  self.in_edges[#self.in_edges + 1] = from
end

function BasicBlock:__tostring()
  return "BB#" .. self.name
end

local CFG = class()

function CFG.new()
  return setmetatable({blocks = {}, count = 0, edges = {}, start = nil}, CFG)
end

-- The block called `name`, created on first use (the first block created is the start).
function CFG:node(name)
  local bb = self.blocks[name]
  if bb == nil then
    bb = BasicBlock.new(name)
    self.blocks[name] = bb
    self.count = self.count + 1
    if self.start == nil then
      self.start = bb
    end
  end
  return bb
end

function CFG:connect(from, to)
  local a, b = self:node(from), self:node(to)
  a:add_out_edge(b)
  b:add_in_edge(a)
  self.edges[#self.edges + 1] = {from = a, to = b}
end

-- Loops and the loop structure graph ----------------------------------------------------

local SimpleLoop = class()

function SimpleLoop.new(id, header, reducible)
  return setmetatable({
    id = id,
    header = header,
    reducible = reducible,
    blocks = {}, -- the blocks in this loop and not in a nested one
    children = {},
    parent = nil,
    is_root = false,
    nesting_level = 0, -- 0 for innermost loops, growing outwards
    depth_level = 0,   -- 0 for the root, growing inwards
  }, SimpleLoop)
end

function SimpleLoop:add_block(bb)
  self.blocks[#self.blocks + 1] = bb
end

function SimpleLoop:add_child(loop)
  self.children[#self.children + 1] = loop
end

function SimpleLoop:set_parent(parent)
  self.parent = parent
  parent:add_child(self)
end

function SimpleLoop:set_nesting_level(level)
  self.nesting_level = level
  if level == 0 then
    self.is_root = true
  end
end

function SimpleLoop:describe()
  return string.format("loop-%d header %s nest %d depth %d blocks %d%s", self.id,
                       tostring(self.header), self.nesting_level, self.depth_level,
                       #self.blocks, self.reducible and "" or " (irreducible)")
end

local LoopStructureGraph = class()

function LoopStructureGraph.new()
  local lsg = setmetatable({loops = {}, counter = 0}, LoopStructureGraph)
  lsg.root = lsg:new_loop(nil, true)
  lsg.root.is_root = true
  return lsg
end

function LoopStructureGraph:new_loop(header, reducible)
  local loop = SimpleLoop.new(self.counter, header, reducible)
  self.counter = self.counter + 1
  self.loops[#self.loops + 1] = loop
  return loop
end

-- Hang every parentless loop under the root, then compute depth (top-down) and nesting
-- (bottom-up) levels recursively.
function LoopStructureGraph:compute_nesting()
  local root = self.root
  for _, loop in ipairs(self.loops) do
    if loop ~= root and loop.parent == nil then
      loop:set_parent(root)
    end
  end
  local function walk(loop, depth)
    loop.depth_level = depth
    local nest = 0
    for _, child in ipairs(loop.children) do
      local n = walk(child, depth + 1) + 1
      if n > nest then
        nest = n
      end
    end
    loop.nesting_level = nest
    return nest
  end
  walk(root, 0)
end

function LoopStructureGraph:num_loops()
  return #self.loops
end

-- Union-find ---------------------------------------------------------------------------

local UnionFindNode = class()

function UnionFindNode.new()
  return setmetatable({parent = nil, bb = nil, loop = nil, dfs_number = 0}, UnionFindNode)
end

function UnionFindNode:init(bb, dfs_number)
  self.parent = self
  self.bb = bb
  self.dfs_number = dfs_number
  self.loop = nil
end

-- The representative of this node's set, compressing the path to it.
function UnionFindNode:find_set()
  local path = {}
  local node = self
  while node ~= node.parent do
    if node.parent ~= node.parent.parent then
      path[#path + 1] = node
    end
    node = node.parent
  end
  for i = 1, #path do
    path[i].parent = node.parent
  end
  return node
end

function UnionFindNode:union(other)
  self.parent = other
end

-- Havlak's algorithm --------------------------------------------------------------------

local BB_NONHEADER, BB_REDUCIBLE, BB_SELF, BB_IRREDUCIBLE, BB_DEAD = 1, 2, 3, 4, 5
local UNVISITED = 0
local MAX_NON_BACK_PREDS = 32 * 1024

local HavlakLoopFinder = class()

function HavlakLoopFinder.new(cfg, lsg)
  return setmetatable({cfg = cfg, lsg = lsg}, HavlakLoopFinder)
end

-- Number the blocks in depth-first order from `current`; `last[n]` is the highest number
-- in the subtree of the block numbered n. Returns the highest number used.
function HavlakLoopFinder:dfs(current, nodes, number, last, current_number)
  nodes[current_number]:init(current, current_number)
  number[current] = current_number
  local last_id = current_number
  local outs = current.out_edges
  for i = 1, #outs do
    local target = outs[i]
    if number[target] == UNVISITED then
      last_id = self:dfs(target, nodes, number, last, last_id + 1)
    end
  end
  last[number[current]] = last_id
  return last_id
end

local function is_ancestor(w, v, last)
  return w <= v and v <= last[w]
end

-- An insertion-ordered set of numbers, so that iteration order is the same on every VM.
local NumberSet = class()

function NumberSet.new()
  return setmetatable({list = {}, has = {}}, NumberSet)
end

function NumberSet:add(n)
  if not self.has[n] then
    self.has[n] = true
    self.list[#self.list + 1] = n
  end
end

function NumberSet:size()
  return #self.list
end

function HavlakLoopFinder:find_loops()
  local cfg = self.cfg
  if cfg.start == nil then
    return 0
  end
  local size = cfg.count
  local non_back_preds, back_preds, number, header, kind, last, nodes = {}, {}, {}, {}, {},
    {}, {}
  for w = 1, size do
    non_back_preds[w] = NumberSet.new()
    back_preds[w] = {}
    nodes[w] = UnionFindNode.new()
  end
  for _, bb in pairs(cfg.blocks) do
    number[bb] = UNVISITED
  end
  self:dfs(cfg.start, nodes, number, last, 1)

  -- Classify every edge into a block as a back edge (from a descendant) or not.
  for w = 1, size do
    header[w] = 1
    kind[w] = BB_NONHEADER
    local node_w = nodes[w].bb
    if node_w == nil then
      kind[w] = BB_DEAD
    else
      local ins = node_w.in_edges
      for i = 1, #ins do
        local v = number[ins[i]]
        if v ~= UNVISITED then
          if is_ancestor(w, v, last) then
            local bp = back_preds[w]
            bp[#bp + 1] = v
          else
            non_back_preds[w]:add(v)
          end
        end
      end
    end
  end
  header[1] = 1

  -- Bottom-up: for each potential header w, collect the blocks that reach w by a back edge
  -- without passing w, collapse them into w's set and make a loop of them.
  for w = size, 1, -1 do
    local node_pool, in_pool = {}, {}
    local node_w = nodes[w].bb
    if node_w ~= nil then
      local bp = back_preds[w]
      for i = 1, #bp do
        local v = bp[i]
        if v ~= w then
          local rep = nodes[v]:find_set()
          if not in_pool[rep] then
            in_pool[rep] = true
            node_pool[#node_pool + 1] = rep
          end
        else
          kind[w] = BB_SELF
        end
      end
      if #node_pool > 0 then
        kind[w] = BB_REDUCIBLE
      end
      local work, head = {}, 1
      for i = 1, #node_pool do
        work[i] = node_pool[i]
      end
      while head <= #work do
        local x = work[head]
        head = head + 1
        local preds = non_back_preds[x.dfs_number]
        if preds:size() > MAX_NON_BACK_PREDS then
          return 0
        end
        local list = preds.list
        for i = 1, #list do
          local ydash = nodes[list[i]]:find_set()
          local yn = ydash.dfs_number
          if not is_ancestor(w, yn, last) then
            -- An entry into the loop that is not through its header.
            kind[w] = BB_IRREDUCIBLE
            non_back_preds[w]:add(yn)
          elseif yn ~= w and not in_pool[ydash] then
            in_pool[ydash] = true
            work[#work + 1] = ydash
            node_pool[#node_pool + 1] = ydash
          end
        end
      end
      if #node_pool > 0 or kind[w] == BB_SELF then
        local loop = self.lsg:new_loop(node_w, kind[w] ~= BB_IRREDUCIBLE)
        nodes[w].loop = loop
        loop:add_block(node_w)
        for i = 1, #node_pool do
          local node = node_pool[i]
          header[node.dfs_number] = w
          node:union(nodes[w])
          if node.loop then
            node.loop:set_parent(loop)
          else
            loop:add_block(node.bb)
          end
        end
      end
    end
  end
  return self.lsg:num_loops()
end

-- The generator ------------------------------------------------------------------------

-- Builds a CFG out of straight-line code, if/else diamonds and loops, counting the loops it
-- makes and their depths so that the finder's answer can be checked.
local Builder = class()

function Builder.new(seed)
  return setmetatable({cfg = CFG.new(), next_name = 0, rng = Random.new(seed), loops = 0,
                       depth_sum = 0, max_depth = 0, self_loops = 0, bodies = {}},
                      Builder)
end

function Builder:fresh()
  local name = self.next_name
  self.next_name = name + 1
  self.cfg:node(name)
  return name
end

function Builder:edge(from, to)
  self.cfg:connect(from, to)
end

-- `n` blocks in a row after `from`; returns the last.
function Builder:straight(from, n)
  for _ = 1, n do
    local b = self:fresh()
    self:edge(from, b)
    from = b
  end
  return from
end

-- from -> (a | b) -> join; returns join.
function Builder:diamond(from)
  local a, b, join = self:fresh(), self:fresh(), self:fresh()
  self:edge(from, a)
  self:edge(from, b)
  self:edge(a, join)
  self:edge(b, join)
  return join
end

function Builder:count_loop(depth)
  self.loops = self.loops + 1
  self.depth_sum = self.depth_sum + depth
  if depth > self.max_depth then
    self.max_depth = depth
  end
end

-- A loop at nesting depth `depth` (1 for outermost) after `from`, with up to `inner` levels
-- of loops inside; returns the block after the loop.
function Builder:loop(from, depth, inner)
  local rng = self.rng
  local head = self:straight(from, 1)
  self:count_loop(depth)
  local body = head
  for _ = 1, rng:range(1, 3) do
    local kind = rng:range(1, 5)
    if kind <= 2 then
      body = self:diamond(body)
    elseif kind == 3 then
      body = self:straight(body, rng:range(1, 3))
    elseif kind == 4 and inner > 0 then
      body = self:loop(body, depth + 1, inner - 1)
    else
      -- A block that loops on itself: a loop one level deeper.
      body = self:straight(body, 1)
      self:edge(body, body)
      self.self_loops = self.self_loops + 1
      self:count_loop(depth + 1)
    end
    -- Remember a block of this loop's body as a target for irreducible jumps.
    self.bodies[#self.bodies + 1] = body
  end
  local latch = self:straight(body, 1)
  self:edge(latch, head)
  if rng:range(1, 4) == 1 then
    -- A second back edge, a "continue" from the middle of the body.
    self:edge(body, head)
  end
  return self:straight(latch, 1)
end

local function build_cfg(size, seed, irreducible_jumps)
  local b = Builder.new(seed)
  local entry = b:fresh()
  local cur = b:straight(entry, 1)
  local jumps = 0
  for _ = 1, size do
    b.bodies = {}
    local before = cur
    cur = b:loop(cur, 1, 3)
    cur = b:diamond(cur)
    if irreducible_jumps then
      -- A jump from just before the group's outer loop straight into one of its bodies (a
      -- second entry that bypasses the header), which makes that loop irreducible.
      b:edge(before, b.bodies[b.rng:range(1, #b.bodies)])
      jumps = jumps + 1
    end
  end
  b:straight(cur, 1)
  return b, jumps
end

-- The benchmark ------------------------------------------------------------------------

local function analyse(cfg)
  local lsg = LoopStructureGraph.new()
  local finder = HavlakLoopFinder.new(cfg, lsg)
  local n = finder:find_loops()
  lsg:compute_nesting()
  local depth_sum, max_depth, irreducible, blocks, sig = 0, 0, 0, 0, 0
  for _, loop in ipairs(lsg.loops) do
    if loop ~= lsg.root then
      depth_sum = depth_sum + loop.depth_level
      if loop.depth_level > max_depth then
        max_depth = loop.depth_level
      end
      if not loop.reducible then
        irreducible = irreducible + 1
      end
      blocks = blocks + #loop.blocks
      sig = (sig * 7 + #loop:describe()) % 1000003
    end
  end
  return {loops = n - 1, depth_sum = depth_sum, max_depth = max_depth,
          irreducible = irreducible, blocks = blocks, root_nest = lsg.root.nesting_level,
          sig = sig}
end

function bench(size)
  -- Structured code: every loop is reducible and the finder must see exactly the loops the
  -- generator made, at the depths it made them.
  local b = build_cfg(size, 4242, false)
  local r = analyse(b.cfg)
  assert(r.loops == b.loops, "wrong number of loops")
  assert(r.depth_sum == b.depth_sum, "wrong loop depths")
  assert(r.max_depth == b.max_depth and r.root_nest == b.max_depth, "wrong nesting")
  assert(r.irreducible == 0, "structured code has an irreducible loop")

  -- The same shapes with jumps into loop bodies: as many loops, some of them irreducible.
  local bi, jumps = build_cfg(size, 4242, true)
  local ri = analyse(bi.cfg)
  assert(ri.loops == bi.loops, "wrong number of loops with irreducible jumps")
  assert(ri.irreducible >= jumps, "too few irreducible loops")
  return string.format("%d %d %d %d %d %d %d %d %d", r.loops, r.depth_sum, r.blocks, r.sig,
                       ri.loops, ri.irreducible, ri.blocks, ri.sig, b.cfg.count)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
