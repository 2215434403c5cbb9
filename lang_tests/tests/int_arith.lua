-- jit: compiled
-- Run-time:
--   stdout:
--     3000! mod 1e9+7 =	341406877	integer
--     sum i^2-3i =	41641660000	alternating =	2500
--     lcg final	939987865	buckets	1015 958 1030 997
--     -6289078614652622815	6289078614652622815	1.2157665459057e+19	float
--     3	1	-4	-4	0.5

-- Integer arithmetic in hot loops: sums, products modulo a prime, a linear congruential
-- generator, and integer results staying integers (math.type).

local MOD = 1000000007
local fact = 1
for i = 1, 3000 do fact = fact * i % MOD end
print("3000! mod 1e9+7 =", fact, math.type(fact))

local s, alt = 0, 0
for i = 1, 5000 do
  s = s + i * i - 3 * i
  alt = alt + (i % 2 == 0 and i or -i)
end
print("sum i^2-3i =", s, "alternating =", alt)

-- A 32-bit LCG kept in range with a mask.
local x = 12345
local hist = { 0, 0, 0, 0 }
for _ = 1, 4000 do
  x = (x * 1103515245 + 12345) & 0x7fffffff
  local b = (x >> 16) % 4 + 1
  hist[b] = hist[b] + 1
end
print("lcg final", x, "buckets", table.concat(hist, " "))

-- Unary minus, integer powers via repeated multiplication, and `^` always giving a float.
local p = 1
for _ = 1, 40 do p = p * 3 end
print(p, -p, 3 ^ 40, math.type(3 ^ 2))
print(7 // 2, 7 % 2, -7 // 2, 7 // -2, 2 ^ -1)
