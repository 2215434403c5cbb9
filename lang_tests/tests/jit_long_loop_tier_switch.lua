-- jit: compiled
-- Run-time:
--   env-var: YKD_TIER_UP=2000
--   stdout:
--     ints 63750 floats 2483.1627 strs 37 last abc tbl 5000 evens 25000

-- One loop entered once and run 50,000 times: its trace is recompiled (tiered up) after
-- 2,000 iterations (YKD_TIER_UP=2000: the loop is short for the default) and moves to the
-- new code from inside the loop, at its head, with every kind of loop-carried value
-- (integers, floats, strings, a table being filled) written back to the interpreter and
-- picked up by the recompiled trace. The results must be the interpreter's.

local ints, floats, strs, last = 0, 0.5, 0, ""
local tbl, evens = {}, 0
local letters = "abcdefg"
for i = 1, 50000 do
  ints = (ints + i * 3) % 1000003
  floats = floats * 0.9999 + 0.25
  if i % 7 == 0 then
    last = string.sub(letters, 1, (i // 7) % 7 + 1)
  end
  if i % 2 == 0 then
    evens = evens + 1
    if i % 5 == 0 then
      tbl[#tbl + 1] = i
    end
  end
  if i % 1351 == 0 then
    strs = strs + 1
  end
end
print(string.format("ints %d floats %.4f strs %d last %s tbl %d evens %d",
  ints, floats, strs, last, #tbl, evens))

local ok, jit = pcall(require, "jit")
if ok then
  -- The recompilations happened (the harness runs with no compile budget): the loop's
  -- trace's, and those of side traces that ran 2,000 times.
  local st = jit.stats()
  assert(st.traces_recompiled >= 1, "recompiled: " .. st.traces_recompiled)
end
