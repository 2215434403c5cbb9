-- jit: compiled
-- Run-time:
--   stdout:
--     inner	46956
--     yielding	9003000
--     status	dead

-- Loops inside coroutine bodies. The first coroutine's inner loop runs between two yields: it
-- is traced and runs compiled inside the coroutine (its own luaV_execute, under
-- lua_resume). The second coroutine's loop yields on every iteration: a yield is a longjmp out
-- of the coroutine's luaV_execute, so a recording of that loop leaves its interpreter frame
-- before it comes round; the runtime gives it up at the next control point of the resumer
-- (abort kind frame_left) rather than building a trace from a path that is no loop, and the
-- loop runs interpreted, with the right results. Under yklua the test checks the statistics
-- through the `jit` module (plain lua has none).

local gen = coroutine.wrap(function()
  for i = 1, 60 do
    local s = 0
    for j = 1, 300 do s = s + (i * j) % 7 end
    coroutine.yield(s)
  end
end)
local t = 0
for _ = 1, 60 do t = t + gen() end
print("inner", t)

local co = coroutine.create(function()
  for i = 1, 3000 do coroutine.yield(i * 2) end
end)
local u = 0
for _ = 1, 3000 do
  local ok, v = coroutine.resume(co)
  assert(ok)
  u = u + v
end
coroutine.resume(co)
print("yielding", u)
print("status", coroutine.status(co))

local ok, jit = pcall(require, "jit")
if ok then
  local st = jit.stats()
  assert(st.traces_compiled_ok >= 2, "too few loops compiled: " .. st.traces_compiled_ok)
  assert(st.trace_executions > 0, "no trace ran")
  assert(st.aborts_frame_left >= 1, "no recording left its frame at a yield")
  assert(st.traces_compiled_err == 0, "a trace failed to compile")
  for _, kind in ipairs { "too_long", "unsupported", "recording", "internal", "backend" } do
    assert(st["aborts_" .. kind] == 0, "a recording aborted as " .. kind)
  end
end
