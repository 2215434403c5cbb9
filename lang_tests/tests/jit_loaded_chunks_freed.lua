-- jit: compiled
-- Run-time:
--   env-var: YKD_TRACES_PER_CONTEXT=7
--   env-var: YK_COMPILE_BUDGET=0
--   stdout:
--     chunks	60	checksum	20568

-- Code loaded with load(), run and dropped: each of 60 chunks has a hot loop of its own (other
-- constants each time, so a new function and, under yklua, a new trace), is run once and
-- dropped, and the garbage is collected. Under yklua the test checks its own statistics
-- through the `jit` module (plain lua has none): every chunk's loop was compiled, and the
-- traces of the functions the collector freed were freed with them (the interpreter drops a
-- freed function's locations, and with them their traces, guard data and side traces), so
-- at most one trace, this file's own loop's, is still alive at the end. A fresh LLVM context
-- every 7 root traces (YKD_TRACES_PER_CONTEXT; 500 by default): side traces are built in their
-- root's, and contexts whose traces are all freed are freed.

local N = 60
local template = [[
local n = ...
local s = %d
for j = 1, n do
  if j %% 9 == 0 then s = s - %d else s = s + (j * %d) %% 13 end
end
return s
]]

local function run(i)
  local f = assert(load(string.format(template, i, i % 5, i % 11 + 1), "=chunk" .. i))
  return f(60)
end

local sum = 0
for i = 1, N do
  sum = sum + run(i)
  collectgarbage()
end
collectgarbage()
collectgarbage()
print("chunks", N, "checksum", sum)

local ok, jit = pcall(require, "jit")
if ok then
  local s = jit.stats()
  assert(s.traces_compiled_ok >= N, "too few loops compiled: " .. s.traces_compiled_ok)
  assert(s.trace_executions >= N, "too few trace runs: " .. s.trace_executions)
  local alive = s.traces_compiled_ok - s.traces_freed
  assert(alive >= 0 and alive <= 1, "traces still alive: " .. alive .. " (compiled "
    .. s.traces_compiled_ok .. ", freed " .. s.traces_freed .. ")")
end
