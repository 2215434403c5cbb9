-- load_loops.lua [CHUNKS [ITERS]]: the bounded-memory benchmark (issue 18).
--
-- Loads CHUNKS (default 5000) new chunks with load(), each with a hot loop
-- of its own (different constants, so a new function prototype and, under
-- yklua, a new trace each time), runs each once with ITERS (default 1000)
-- iterations, drops it and collects garbage. Prints the resident set size
-- (VmRSS from /proc/self/status) after 100 chunks and after the last, and
-- under yklua the JIT's counters: a runtime that frees the traces,
-- guard data and locations of unreachable functions keeps the two sizes
-- close (the issue asks for the second within 1.5 times the first).
--
-- Run by `cargo xtask bench-memory`, which also prints the figures of the
-- plain lua for comparison.

local CHUNKS = tonumber(arg and arg[1]) or 5000
local ITERS = tonumber(arg and arg[2]) or 1000

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  local kb = -1
  for line in f:lines() do
    local v = line:match("^VmRSS:%s*(%d+)")
    if v then kb = tonumber(v) break end
  end
  f:close()
  return kb
end

local have_jit, jit = pcall(require, "jit")
if not have_jit then jit = nil end

local template = [[
local n = ...
local s, t = %d, 0
for j = 1, n do
  if j %% %d == 0 then t = t + 1 else s = s + (j * %d) %% %d end
end
return s + t
]]

local total = 0
local rss100
for i = 1, CHUNKS do
  local src = string.format(template, i, i % 7 + 3, i % 97 + 1, i % 89 + 2)
  local f = assert(load(src, "=chunk" .. i))
  total = total + f(ITERS)
  f = nil
  collectgarbage()
  if i == 100 then rss100 = rss_kb() end
end
collectgarbage()
collectgarbage()
local rss_end = rss_kb()

print(string.format("checksum %d", total))
print(string.format("rss_kb_after_100 %d", rss100 or -1))
print(string.format("rss_kb_after_%d %d", CHUNKS, rss_end))
if rss100 and rss100 > 0 then
  print(string.format("rss_ratio %.2f", rss_end / rss100))
end
if jit then
  local st = jit.stats()
  for _, k in ipairs{"traces_compiled_ok", "side_traces_compiled",
                     "traces_freed", "trace_executions"} do
    print(string.format("%s %d", k, st[k] or -1))
  end
end
