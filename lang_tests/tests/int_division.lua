-- jit: compiled
-- Run-time:
--   stdout:
--     7 // 3 = 2, 7 % 3 = 1, 7 / 3 = 2.3333333333333
--     -7 // 3 = -3, -7 % 3 = 2, -7 / 3 = -2.3333333333333
--     7 // -3 = -3, 7 % -3 = -2, 7 / -3 = -2.3333333333333
--     -7 // -3 = 2, -7 % -3 = -1, -7 / -3 = 2.3333333333333
--     6 // 3 = 2, 6 % 3 = 0, 6 / 3 = 2.0
--     -6 // 3 = -2, -6 % 3 = 0, -6 / 3 = -2.0
--     0 // -5 = 0, 0 % -5 = 0, 0 / -5 = -0.0
--     identity failures:	0
--     sum of quotients	-1788215	sum of remainders	15005
--     -9223372036854775808	0	-9223372036854775807
--     false	int_division.lua:46: attempt to divide by zero
--     false	int_division.lua:47: attempt to perform 'n%0'
--     inf	-inf	true	true
--     5.0	float	5	integer	5.0	4.0
--     -0.5	0.5	-inf	inf

-- Floor division and modulo: the sign rules for negative operands (the result of `%` has the
-- divisor's sign), mininteger // -1, integer division by zero (an error) against float
-- division by zero (inf/nan), and `/` always giving a float.

local pairs_ = { { 7, 3 }, { -7, 3 }, { 7, -3 }, { -7, -3 }, { 6, 3 }, { -6, 3 }, { 0, -5 } }
for _, p in ipairs(pairs_) do
  local a, b = p[1], p[2]
  print(string.format("%d // %d = %d, %d %% %d = %d, %d / %d = %s", a, b, a // b, a, b, a % b,
    a, b, tostring(a / b)))
end

-- The identity a == (a // b) * b + a % b, checked in a hot loop over mixed signs.
local bad = 0
for a = -600, 600, 7 do
  for b = -13, 13 do
    if b ~= 0 and a ~= (a // b) * b + a % b then bad = bad + 1 end
  end
end
print("identity failures:", bad)

-- Summing floor quotients and remainders of negative numbers in a hot loop.
local q, r = 0, 0
for a = -5000, -1 do q = q + a // 7; r = r + a % 7 end
print("sum of quotients", q, "sum of remainders", r)

print(math.mininteger // -1, math.mininteger % -1, math.maxinteger // -1)
print(pcall(function() return 1 // 0 end))
print(pcall(function() return 1 % 0 end))
print(1 // 0.0, -1 // 0.0, 0.0 / 0.0 ~= 0.0 / 0.0, 1 % 0.0 ~= 1 % 0.0)
print(10 / 2, math.type(10 / 2), 10 // 2, math.type(10 // 2), 10.0 // 2, 2 ^ 2)
print(5.5 % -2, -5.5 % 2, 3 % -math.huge, -3 % math.huge)
