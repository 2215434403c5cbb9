-- binary-trees: allocate many perfect binary trees of various depths and walk them, a test of
-- the allocator and the garbage collector. `size` is the maximum depth.

local function make(depth)
  if depth == 0 then
    return {}
  end
  depth = depth - 1
  return {make(depth), make(depth)}
end

local function check(tree)
  if tree[1] then
    return 1 + check(tree[1]) + check(tree[2])
  end
  return 1
end

local function bench(size)
  local mindepth = 4
  local maxdepth = size > mindepth + 2 and size or mindepth + 2
  local total = check(make(maxdepth + 1))
  local longlived = make(maxdepth)
  for depth = mindepth, maxdepth, 2 do
    local iters = 2 ^ (maxdepth - depth + mindepth)
    local c = 0
    for _ = 1, iters do
      c = c + check(make(depth))
    end
    total = total + c
  end
  return total + check(longlived)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
