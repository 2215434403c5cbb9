-- jit: compiled
-- Run-time:
--   stdout:
--     H(10000) = 9.787606036044
--     Leibniz pi ~ 3.141583
--     false	0.99999999999999989	1.0
--     inf	-inf	true	true
--     true	false	true
--     -0.0	true	-inf	inf
--     3.0	-2.5	1e+100	1e+15	1e+16	9.007199254741e+15	0.3
--     3.0	1.5	-4.0	0.5	inf	-inf	5.0	inf
--     pos -0.268727 vel 0.275828

-- Float arithmetic in hot loops and the printing of floats: accumulated sums, a series
-- converging to pi, infinities, NaN and negative zero.

local s = 0.0
for i = 1, 10000 do s = s + 1 / i end
print(string.format("H(10000) = %.12f", s))

local pi4 = 0.0
for k = 0, 99999 do pi4 = pi4 + (k % 2 == 0 and 1 or -1) / (2 * k + 1) end
print(string.format("Leibniz pi ~ %.6f", 4 * pi4))

local x = 0.1
local y = 0
for _ = 1, 10 do y = y + x end
print(y == 1.0, string.format("%.17g", y), y)

print(1 / 0, -1 / 0, math.huge == 1 / 0, -math.huge < -1e308)
local nan = 0 / 0
print(nan ~= nan, nan == nan, tostring(nan) == tostring(nan))
local negz = -0.0
print(negz, 0.0 == negz, 1 / negz, 1 / 0.0)
print(3.0, -2.5, 1e100, 1e15, 1e16, 2 ^ 53, 0.1 + 0.2)
print(7.5 // 2, 7.5 % 2, -7.5 // 2, -7.5 % 2, 5.0 // 0, -5 // 0.0, 5 % math.huge, -5 % math.huge)

-- A damped oscillator integrated with Euler steps.
local pos, vel, dt = 1.0, 0.0, 0.001
for _ = 1, 5000 do
  local acc = -4.0 * pos - 0.5 * vel
  vel = vel + acc * dt
  pos = pos + vel * dt
end
print(string.format("pos %.6f vel %.6f", pos, vel))
