-- The in-process benchmark driver shared by every benchmark in this directory.
--
-- A benchmark file defines one function `bench(size)` that does a fixed amount of work for
-- `size` and returns a result (a number or a string) that is the same every time it is called
-- with the same `size`, then hands it to `run`:
--
--     local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
--     harness.run(bench)
--
-- Invoked as `lua BENCH.lua ITERATIONS SIZE`, `run` calls `bench(SIZE)` ITERATIONS times and
-- prints, to stdout and in this exact format (parsed by `cargo xtask bench`):
--
--     iteration <i> <seconds>      one line per in-process iteration, i = 1..ITERATIONS
--     checksum <result>            once, after the last iteration
--
-- Timing uses os.clock(): Lua's standard library has no monotonic wall clock, and os.clock
-- (C's clock()) is the process's CPU time, which never goes backwards. It counts the CPU time
-- of every thread in the process, so time a JIT spends compiling on a background thread is
-- charged to the iteration during which it happens; time the process spends descheduled is
-- not counted.
--
-- Every iteration's result must equal the first one's: a benchmark that computes something
-- different on a later iteration (e.g. because a compiled trace is wrong) fails loudly here
-- rather than producing a plausible-looking checksum.
--
-- Written in the subset of Lua shared by 5.1 (LuaJIT) and 5.4 so that all VMs run it.

local harness = {}

-- The printable form of a benchmark result: "%.17g" round-trips every double and prints
-- integral values without a fraction on both Lua 5.1 and 5.4 (where 3 and 3.0 would otherwise
-- print differently).
local function show(r)
  if type(r) == "number" then
    return string.format("%.17g", r)
  elseif type(r) == "string" then
    return r
  end
  error("benchmark result must be a number or a string, got " .. type(r))
end

local function positive_int(s, what)
  local n = tonumber(s)
  if n == nil or n < 1 or n ~= math.floor(n) then
    io.stderr:write("usage: ", arg[0], " ITERATIONS SIZE (positive integers); bad ", what,
                    ": ", tostring(s), "\n")
    os.exit(2)
  end
  return n
end

-- With YKLUA_BENCH_JITSTATS set, under yklua (whose `jit.stats()` gives the JIT's counters),
-- one line per iteration on stderr: `jitstats <i> <counter> <delta> ...` with what each
-- counter grew by during that iteration, e.g. the guard failures and trace entries of the
-- steady state. Other VMs ignore it.
local jitlib
if os.getenv("YKLUA_BENCH_JITSTATS") then
  local ok, m = pcall(require, "jit")
  if ok and type(m) == "table" and type(m.stats) == "function" then
    jitlib = m
  end
end

local function jit_counters()
  if not jitlib then
    return nil
  end
  local ok, s = pcall(jitlib.stats)
  if ok and type(s) == "table" then
    return s
  end
  return nil
end

local jit_counter_names = { "trace_executions", "guard_failures", "trace_jumps",
  "traces_compiled_ok", "side_traces_compiled", "traces_recorded_err" }

local function report_jit(i, before, after)
  if not (before and after) then
    return
  end
  local parts = { "jitstats", tostring(i) }
  for _, k in ipairs(jit_counter_names) do
    local a, b = after[k], before[k]
    if type(a) == "number" and type(b) == "number" then
      parts[#parts + 1] = k .. " " .. string.format("%d", a - b)
    end
  end
  io.stderr:write(table.concat(parts, " "), "\n")
end

function harness.run(bench)
  local iterations = positive_int(arg[1], "ITERATIONS")
  local size = positive_int(arg[2], "SIZE")
  -- Line-buffered so that a watcher sees each iteration as it finishes.
  io.stdout:setvbuf("line")
  local first
  for i = 1, iterations do
    local c0 = jit_counters()
    local t0 = os.clock()
    local r = bench(size)
    local t1 = os.clock()
    io.write(string.format("iteration %d %.9f\n", i, t1 - t0))
    report_jit(i, c0, jit_counters())
    local shown = show(r)
    if i == 1 then
      first = shown
    elseif shown ~= first then
      error(string.format("iteration %d computed %s but iteration 1 computed %s", i, shown, first))
    end
  end
  io.write("checksum ", first, "\n")
end

return harness
