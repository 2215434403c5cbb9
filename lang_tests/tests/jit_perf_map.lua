-- jit: compiled
-- Run-time:
--   env-var: YKD_PERF_MAP=1
--   stdout:
--     sum	2450000	odd	2500000
--     map	ok

-- perf's JIT symbol map: with YKD_PERF_MAP=1 yklua lists each trace's native code in
-- /tmp/perf-<pid>.map (start and size in hex, then the trace's name and location), which
-- `perf report` reads to name samples in traces. Under yklua the test finds its own map (the
-- pid from /proc/self/stat) and checks that the loop's trace, and its side trace for the
-- other branch, are listed at this file's loop line with a non-empty size. Plain lua writes
-- no map and prints the same.

local sum, odd = 0, 0
for i = 1, 100000 do -- the loop
  if i % 2 == 0 then
    sum = sum + i % 100
  else
    odd = odd + 50
  end
end
print("sum", sum, "odd", odd)

local function loop_line()
  local n = 0
  for l in io.lines(arg[0]) do
    n = n + 1
    if l:find("-- the loop", 1, true) and not l:find("find") then
      return n
    end
  end
end

local ok = pcall(require, "jit")
local verdict = "ok"
if ok then
  local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
  local f = io.open("/tmp/perf-" .. pid .. ".map")
  if not f then
    verdict = "no map"
  else
    local at = arg[0]:match("[^/]*$") .. ":" .. loop_line()
    local root, side = false, false
    for l in f:lines() do
      local start, size, name = l:match("^(%x+) (%x+) (.*)$")
      assert(start and tonumber(size, 16) > 0, "malformed line: " .. l)
      if name:find("@ " .. at, 1, true) then
        if name:find("(side of", 1, true) then side = true else root = true end
      end
    end
    f:close()
    os.remove("/tmp/perf-" .. pid .. ".map")
    if not (root and side) then
      verdict = "missing: root " .. tostring(root) .. ", side " .. tostring(side)
    end
  end
end
print("map", verdict)
