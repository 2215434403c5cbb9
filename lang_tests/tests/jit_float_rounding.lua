-- jit: compiled
-- Run-time:
--   stdout:
--     floor	-3000	ceil	3000	idiv	-2250	fmod	2235.0	toint	4950	keys	100
--     edges	-1.0	-0.0	inf	-inf	nan

-- Rounding floats in a loop: math.floor, math.ceil, floor division and modulo of floats,
-- float-to-integer conversions (table keys that are integral floats, math.tointeger), which
-- the interpreter's C code does with floor and ceil (LLVM's floor and ceil intrinsics in
-- the embedded IR). The loop's trace is compiled by the native code generator, not handed
-- to LLVM: under yklua the test checks its own statistics through the `jit` module (plain
-- lua has none; a trace that fell back to LLVM counts in `native_fallbacks`).

local fl, ce, idiv, fm, ti = 0, 0, 0, 0.0, 0
local t = {}
for i = 1, 3000 do
  local x = (i % 100) * 0.5 - 25.25
  fl = fl + math.floor(x)
  ce = ce + math.ceil(-x)
  idiv = idiv + (x // 2.0)
  fm = fm + (x % 1.5)
  local k = math.tointeger((i % 100) * 1.0)
  ti = ti + (k or 0)
  t[(i % 100) + 1.0] = true
end
local keys = 0
for _ in pairs(t) do keys = keys + 1 end
print("floor", fl, "ceil", ce, "idiv", math.tointeger(idiv), "fmod", fm, "toint", ti // 30,
  "keys", keys)

-- Edges, each computed in a loop of its own.
local function each(f, x)
  local r
  for _ = 1, 50 do r = f(x) end
  return r
end
print("edges", each(function(x) return x // 1.0 end, -0.25),
  each(function(x) return x // 1.0 end, -0.0),
  each(function(x) return x // 1.0 end, math.huge),
  each(function(x) return -x // 1.0 end, math.huge),
  each(function(x) local y = x // 1.0 return y ~= y and "nan" or y end, 0 / 0))

local ok, jit = pcall(require, "jit")
if ok then
  local s = jit.stats()
  assert(s.traces_compiled_ok >= 1, "the loop was not compiled")
  assert(s.trace_executions > 0, "no trace ran")
  assert(s.native_fallbacks == 0, "a trace fell back to LLVM: " .. s.native_fallbacks)
end
