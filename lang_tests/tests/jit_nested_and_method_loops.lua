-- jit: compiled
-- Run-time:
--   stdout:
--     sum	616120
--     calls	96000

-- Loops nested two and three deep, and an object loop whose body calls methods, run in traces:
-- each innermost loop gets a trace, and the exits of inner loops get side traces that run the
-- outer loops' bytecodes back into the inner trace, so that after warm-up no iteration of any
-- loop deoptimises (about 1,100 inner-loop exits, a few dozen guard failures). Under yklua the
-- test checks its own statistics through the `jit` module (plain lua has none): a yklua whose
-- loops did not compile, aborted, or deoptimised at every loop exit prints an error instead of
-- the expected lines.

local sum = 0
for rep = 1, 40 do
  for i = 1, 20 do
    for j = 1, 50 do
      sum = sum + (i * j + rep) % 7
    end
  end
end
for i = 1, 200 do
  for j = 1, 100 do
    sum = sum + (i + j) % 5 * 10
  end
end

local Counter = {}
Counter.__index = Counter
function Counter.new() return setmetatable({n = 0}, Counter) end
function Counter:bump(k) self.n = self.n + k end
local calls = 0
local c = Counter.new()
for _ = 1, 120 do
  for k = 1, 800 do
    c:bump(k % 3)
    calls = calls + 1
  end
end
sum = sum + c.n

print("sum", sum)
print("calls", calls)

local ok, jit = pcall(require, "jit")
if ok then
  local s = jit.stats()
  assert(s.traces_compiled_ok >= 3, "too few loops compiled: " .. s.traces_compiled_ok)
  assert(s.traces_recorded_err == 0 and s.traces_compiled_err == 0, "a trace was aborted")
  assert(s.side_traces_compiled >= 3, "too few side traces: " .. s.side_traces_compiled)
  assert(s.trace_executions > 0, "no trace ran")
  assert(s.guard_failures <= 100, "loop exits deoptimised: " .. s.guard_failures .. " failures")
end
