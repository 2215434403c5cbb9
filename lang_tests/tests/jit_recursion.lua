-- jit: compiled
-- Run-time:
--   env-var: YKLUA_RECURSION=1
--   stdout:
--     fib(22) =	17711
--     tree nodes	2047	sum	22517
--     hanoi moves	1023
--     ackermann(2, 100) =	203

-- Recursive functions without a single loop run in traces: with YKLUA_RECURSION=1, a call of
-- a function already running gives its entry a location (yklua's yk.patch, luaF_ykentry;
-- plain lua ignores the variable), and a trace recorded
-- from there comes round to the same location at the recursive call's entry, one trace
-- iteration per level of recursion; the returns run in side traces back into the next
-- call. The program has no loop, so every trace compiled is one of a recursive function's.
-- Under yklua the test checks its own statistics through the `jit` module (plain lua has
-- none): a yklua whose recursive functions did not compile, or deoptimised at most calls,
-- prints an error instead of the expected lines.

local calls = 0

local function fib(n)
  calls = calls + 1
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end
print("fib(22) =", fib(22))

-- A tree walk, binary-trees style: build a complete tree, then sum it.
local function make(depth, v)
  calls = calls + 1
  if depth == 0 then return { v = v } end
  return { l = make(depth - 1, 2 * v), r = make(depth - 1, 2 * v + 1), v = v }
end
local function count(t)
  calls = calls + 1
  if t.l == nil then return 1, t.v % 23 end
  local nl, sl = count(t.l)
  local nr, sr = count(t.r)
  return nl + nr + 1, sl + sr + t.v % 23
end
local n, s = count(make(10, 1))
print("tree nodes", n, "sum", s)

-- Towers of Hanoi: two recursive calls around a move.
local moves = 0
local function hanoi(k, from, to, via)
  calls = calls + 1
  if k == 0 then return end
  hanoi(k - 1, from, via, to)
  moves = moves + 1
  hanoi(k - 1, via, to, from)
end
hanoi(10, 1, 3, 2)
print("hanoi moves", moves)

-- Ackermann: recursion whose depth and shape change from call to call.
local function ack(m, k)
  calls = calls + 1
  if m == 0 then return k + 1 end
  if k == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, k - 1))
end
print("ackermann(2, 100) =", ack(2, 100))

local ok, jit = pcall(require, "jit")
if ok then
  local st = jit.stats()
  assert(st.traces_compiled_ok >= 4, "too few recursive functions compiled: " .. st.traces_compiled_ok)
  assert(st.traces_recorded_err == 0 and st.traces_compiled_err == 0, "a trace was aborted")
  assert(st.trace_executions > 0, "no trace ran")
  assert(st.side_traces_compiled >= 4, "returns not in side traces: " .. st.side_traces_compiled)
  -- Most calls must run in traces: deoptimising is rare once the returns have side traces.
  assert(st.guard_failures * 50 < calls,
         "recursion deoptimised: " .. st.guard_failures .. " failures in " .. calls .. " calls")
end
