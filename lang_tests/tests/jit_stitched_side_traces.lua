-- jit: compiled
-- Run-time:
--   env-var: YKD_TIER_UP=50000
--   stdout:
--     odd	150000	even	150000	acc	1044000	ticks	3000

-- A loop whose branch goes each way in turn (its guard's side trace runs every other
-- iteration), inside an outer loop: when the loop's trace is recompiled at the hot tier, the
-- side trace is compiled into it (stitched), and the inner loop's exit, whose side trace ends at
-- the outer loop's bytecodes and back into the inner loop, keeps it running in traces. The
-- results must be the interpreter's. Under yklua the test checks its own statistics through
-- the `jit` module (plain lua has none): the side trace must have been stitched. (The
-- recompilation after 50,000 iterations: the loop runs 300,000, short for the default.)

local odd, even, acc, ticks = 0, 0, 0, 0
for _ = 1, 3000 do
  for i = 1, 100 do
    if i % 2 == 1 then
      odd = odd + 1
      acc = acc + i % 7
    else
      even = even + 1
      acc = acc + i % 5 * 2
    end
  end
  ticks = ticks + 1
end
print("odd", odd, "even", even, "acc", acc, "ticks", ticks)

local ok, jit = pcall(require, "jit")
if ok then
  local s = jit.stats()
  assert(s.side_traces_compiled >= 1, "no side trace: " .. s.side_traces_compiled)
  assert(s.side_traces_stitched >= 1, "no side trace stitched")
  assert(s.traces_compiled_err == 0, "a trace failed to compile")
end
