-- jit: compiled
-- Run-time:
--   env-var: YKD_CUT_CALLS=1
--   env-var: YKD_TRACE_MAX_LEN=445
--   stdout:
--     particles 40 steps 300
--     energy 166.875 bounces 1130 hits 1646
--     log 300 last step 300: 40 alive

-- A loop over objects whose method is too long to inline: with YKD_CUT_CALLS=1 the runtime
-- cuts the recording at the call that took most of it and the method's entry becomes a
-- location (yklua's ykhint and ykmakeentry, yk.patch), so the loop gets a short trace that
-- ends at the call and the method a trace of its own, where the recording used to be
-- aborted as too long and the loop interpreted. (The length limit is low here so that the
-- program stays small; 445 is 400 scaled as the default was when yklua's recordings gained a
-- block per bytecode, see docs/trace-compiler.md, "With the JIT off".) Under yklua the test
-- checks its own statistics through the `jit`
-- module (plain lua has none): a yklua that aborted a recording as too long, cut nothing,
-- or ran the loop outside traces prints an error instead of the expected lines.

local Particle = {}
Particle.__index = Particle

function Particle.new(i)
  return setmetatable({ x = i * 3 % 17, y = i * 7 % 23, vx = i % 5 - 2, vy = i % 3 - 1,
                        mass = 1 + i % 4, alive = true, bounces = 0 }, Particle)
end

-- Long on purpose: every branch and field access is bytecode the trace would inline.
function Particle:step(w, h, obstacles)
  local x, y, vx, vy = self.x + self.vx, self.y + self.vy, self.vx, self.vy
  if x < 0 then x, vx = -x, -vx; self.bounces = self.bounces + 1 end
  if y < 0 then y, vy = -y, -vy; self.bounces = self.bounces + 1 end
  if x > w then x, vx = 2 * w - x, -vx; self.bounces = self.bounces + 1 end
  if y > h then y, vy = 2 * h - y, -vy; self.bounces = self.bounces + 1 end
  local hits = 0
  for k = 1, #obstacles do
    local o = obstacles[k]
    local dx, dy = x - o.x, y - o.y
    if dx * dx + dy * dy <= o.r * o.r then
      hits = hits + 1
      vx, vy = -vy, vx
    end
  end
  self.x, self.y, self.vx, self.vy = x, y, vx, vy
  return hits
end

function Particle:energy()
  return 0.5 * self.mass * (self.vx * self.vx + self.vy * self.vy)
end

local ps = {}
for i = 1, 40 do ps[i] = Particle.new(i) end
local obstacles = { { x = 5, y = 5, r = 2 }, { x = 12, y = 18, r = 3 }, { x = 15, y = 3, r = 1 } }
local hits, log = 0, {}
for s = 1, 300 do
  for i = 1, #ps do
    hits = hits + ps[i]:step(17, 23, obstacles)
  end
  local alive = 0
  for i = 1, #ps do if ps[i].alive then alive = alive + 1 end end
  log[#log + 1] = "step " .. s .. ": " .. alive .. " alive"
end
local energy, bounces = 0, 0
for i = 1, #ps do
  energy = energy + ps[i]:energy() * 1.25
  bounces = bounces + ps[i].bounces
end
print("particles " .. #ps .. " steps 300")
print("energy " .. energy .. " bounces " .. bounces .. " hits " .. hits)
print("log " .. #log .. " last " .. log[#log])

local ok, jit = pcall(require, "jit")
if ok then
  local st = jit.stats()
  assert(st.calls_cut >= 1, "no call was cut")
  assert(st.aborts_too_long == 0, "a recording was aborted as too long: " .. st.aborts_too_long)
  assert(st.traces_compiled_ok >= 2, "too few traces: " .. st.traces_compiled_ok)
  assert(st.trace_executions > 1000, "the loop ran outside traces: " .. st.trace_executions)
  assert(st.guard_failures * 20 < st.trace_executions,
         "traces deoptimised: " .. st.guard_failures .. " in " .. st.trace_executions)
end
