-- jit: compiled
-- Run-time:
--   stdout:
--     3	-4	4	-3	5
--     integer	true	float
--     4	4.5	2.5	1.0	4
--     1	-1	1	-1.5
--     false	bad argument #2 to 'math.fmod' (zero)
--     4.0	false	1.0	0.0	3.0
--     2.0	integer	float	nil	3.1415926535898
--     true	false	false	inf	-inf
--     0.8414709848 0.5403023059
--     sum	3250000	integer
--     random in range	true	integers	true
--     same seed, same value:	true
--     false	bad argument #1 to 'math.random' (interval is empty)

-- The math library: floor/ceil (integer results), abs, max/min keeping the argument type,
-- fmod, sqrt, exp/log, math.type, math.ult, and math.random with a fixed seed used only for
-- properties that hold for any sequence.

print(math.floor(3.7), math.floor(-3.7), math.ceil(3.2), math.ceil(-3.2), math.floor(5))
print(math.type(math.floor(3.7)), math.floor(1e100) == 1e100, math.type(math.floor(1e100)))
print(math.abs(-4), math.abs(-4.5), math.max(1, 2.5, 2), math.min(3, 1.0, 2), math.max(4, 4.0))
print(math.fmod(7, 3), math.fmod(-7, 3), math.fmod(7, -3), math.fmod(-7.5, 2))
print(pcall(math.fmod, 1, 0))
print(math.sqrt(16), math.sqrt(2) * math.sqrt(2) == 2, math.exp(0), math.log(1), math.log(8, 2))
print(math.log(100, 10), math.type(1), math.type(1.0), math.type("1"), math.pi)
print(math.ult(1, -1), math.ult(-1, 1), 1 < -1, math.huge, -math.huge)
print(string.format("%.10f %.10f", math.sin(1), math.cos(1)))

-- A hot loop using floor/ceil/abs/max/min.
local s = 0
for i = 1, 3000 do
  local x = i / 7
  s = s + math.floor(x) + math.ceil(-x) + math.abs(i - 1500) + math.max(i, 1000) - math.min(i, 2000)
end
print("sum", s, math.type(s))

-- math.random: the values depend on the generator, so only their properties are printed.
math.randomseed(42)
local inrange, ints = true, true
for _ = 1, 2000 do
  local r = math.random(1, 6)
  if r < 1 or r > 6 then inrange = false end
  if math.type(r) ~= "integer" then ints = false end
  local f = math.random()
  if f < 0 or f >= 1 then inrange = false end
end
print("random in range", inrange, "integers", ints)
math.randomseed(7); local a = math.random(1000000)
math.randomseed(7); local b = math.random(1000000)
print("same seed, same value:", a == b)
print(pcall(math.random, 2, 1))
