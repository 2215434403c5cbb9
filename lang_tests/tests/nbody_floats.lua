-- jit: compiled
-- Run-time:
--   stdout:
--     energy before -12.952385 after -12.952445
--     relative drift below 1e-3:	true
--     body 1 at (-0.0037, 0.0410)
--     body 2 at (-2.5680, 95.9269)
--     body 3 at (-97.8728, -114.5839)
--     body 4 at (-100.9193, 194.5707)

-- A small n-body simulation (float arithmetic on table fields in nested loops), checking
-- that energy is nearly conserved; printed with fixed precision.

local bodies = {
  { x = 0, y = 0, vx = 0, vy = 0, m = 1000 },
  { x = 100, y = 0, vx = 0, vy = 3.1, m = 1 },
  { x = -150, y = 0, vx = 0, vy = -2.6, m = 2 },
  { x = 0, y = 220, vx = -2.1, vy = 0, m = 0.5 },
}
local n = #bodies

local function energy()
  local e = 0.0
  for i = 1, n do
    local b = bodies[i]
    e = e + 0.5 * b.m * (b.vx * b.vx + b.vy * b.vy)
    for j = i + 1, n do
      local c = bodies[j]
      local dx, dy = b.x - c.x, b.y - c.y
      e = e - b.m * c.m / math.sqrt(dx * dx + dy * dy)
    end
  end
  return e
end

local function advance(dt)
  for i = 1, n do
    local b = bodies[i]
    for j = i + 1, n do
      local c = bodies[j]
      local dx, dy = b.x - c.x, b.y - c.y
      local d2 = dx * dx + dy * dy
      local mag = dt / (d2 * math.sqrt(d2))
      b.vx, b.vy = b.vx - dx * c.m * mag, b.vy - dy * c.m * mag
      c.vx, c.vy = c.vx + dx * b.m * mag, c.vy + dy * b.m * mag
    end
  end
  for i = 1, n do
    local b = bodies[i]
    b.x, b.y = b.x + dt * b.vx, b.y + dt * b.vy
  end
end

local e0 = energy()
for _ = 1, 5000 do advance(0.01) end
local e1 = energy()
print(string.format("energy before %.6f after %.6f", e0, e1))
print("relative drift below 1e-3:", math.abs((e1 - e0) / e0) < 1e-3)
for i = 1, n do
  local b = bodies[i]
  print(string.format("body %d at (%.4f, %.4f)", i, b.x, b.y))
end
