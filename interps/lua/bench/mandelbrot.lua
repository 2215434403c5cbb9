-- mandelbrot: escape-time iteration over a size x size grid of the complex plane
-- ([-1.5, 0.5] x [-1, 1]), at most 50 iterations per point. The checksum counts the points in
-- the set and folds in which ones they are, row by row.

local function bench(size)
  local inside, h = 0, 0
  local limit2 = 4.0
  for y = 0, size - 1 do
    local ci = 2.0 * y / size - 1.0
    local row = 0
    for x = 0, size - 1 do
      local cr = 2.0 * x / size - 1.5
      local zr, zi, zr2, zi2 = 0.0, 0.0, 0.0, 0.0
      local escaped = false
      for _ = 1, 50 do
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > limit2 then
          escaped = true
          break
        end
      end
      if not escaped then
        inside = inside + 1
        row = (row * 3 + x) % 1000003
      end
    end
    h = (h * 31 + row) % 1000000007
  end
  return string.format("%d %d", inside, h)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
