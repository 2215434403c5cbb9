-- jit: compiled
-- Run-time:
--   env-var: YKD_SERIALISE_COMPILATION=1
--   env-var: YKD_TRACE_MAX_LEN=100
--   stdout:
--     195000	635078

-- A loop whose rare path (one iteration in 40) is longer than YKD_TRACE_MAX_LEN: its guard's
-- side trace is recorded too long and aborted, and the guard leaves through the blackhole.
-- Once it has failed guard::TRUNCATE_AFTER (4,096) times, its side trace is recorded again,
-- truncated at the length limit (YKD_TRUNCATE=1, the default), and compiled up to the last
-- control point it passed: the rare path's later iterations run in it, and leave no more
-- through the blackhole. Under yklua the test checks its own statistics through the `jit`
-- module (plain lua has none).

local x, z = 0, 0
local t = { a = 1, b = 2, c = 3 }
for i = 1, 200000 do
  if i % 40 == 0 then
    z = z + t.a * 3 + t.b * 5 + t.c * 7
    z = z + (i % 7) * t.a + (i % 11) * t.b + (i % 13) * t.c
    z = z + (i % 17) * t.a + (i % 19) * t.b + (i % 23) * t.c
    z = z + (i % 29) * t.a + (i % 31) * t.b + (i % 37) * t.c
    z = z + (i % 41) * t.a + (i % 43) * t.b + (i % 47) * t.c
    z = z + (i % 53) * t.a + (i % 59) * t.b + (i % 61) * t.c
    z = z % 1000003
  else
    x = x + 1
  end
end
print(x, z)

local ok, jit = pcall(require, "jit")
if ok then
  local st = jit.stats()
  assert(st.traces_truncated == 1, "recordings truncated: " .. st.traces_truncated)
  assert(st.aborts_too_long == 1, "too-long aborts: " .. st.aborts_too_long)
  assert(st.side_traces_compiled == 1, "side traces: " .. st.side_traces_compiled)
  assert(st.trace_executions > 4000, "the loop ran outside traces: " .. st.trace_executions)
  -- The rare path came 5,000 times: the blackhole ran it until the truncated side trace
  -- was there, and no more after.
  assert(st.guard_failures <= 4096 + 40,
         "the guard went on failing: " .. st.guard_failures)
end
