-- jit: compiled
-- Run-time:
--   stdout:
--     9223372036854775807	-9223372036854775808	true	true
--     -2	-9223372036854775808	-9223372036854775808	-9223372036854775808	0
--     -9223372036854775808	9.2233720368548e+18	float
--     hash	-2675779345515565847	daddb8dcb537ace9
--     doubling reached 0 after	64
--     wrapped sum	-9223372036854772808
--     nil	4611686018427387904	true	true
--     9223372036854775807 -9223372036854775808	9007199254740993	9.007199254741e+15

-- Integer overflow wraps around (two's complement), in constant expressions and in hot
-- loops; float conversions of large integers are exact or rounded as IEEE says.

local max, min = math.maxinteger, math.mininteger
print(max, min, max + 1 == min, min - 1 == max)
print(max * 2, min * -1, -min, min // -1, min % -1)
print(math.abs(min), max + 1.0, math.type(max + 1.0))

-- A hot loop that overflows every few iterations: a 64-bit FNV-1a style hash.
local h = -3750763034362895579 -- 14695981039346656037 as a signed 64-bit integer
local data = "the quick brown fox jumps over the lazy dog"
for _ = 1, 100 do
  for i = 1, #data do
    h = h ~ data:byte(i)
    h = h * 1099511628211
  end
end
print("hash", h, string.format("%x", h))

-- Doubling wraps to zero after 64 steps.
local v, steps = 1, 0
repeat v = v * 2; steps = steps + 1 until v == 0
print("doubling reached 0 after", steps)

-- Adding a large step repeatedly wraps many times; the result is exact modulo 2^64.
local acc = 0
for _ = 1, 3000 do acc = acc + 0x7000000000000001 end
print("wrapped sum", acc)

print(math.tointeger(2 ^ 63), math.tointeger(2 ^ 62), 2 ^ 63 == max + 1.0, max // 1 == max)
print(string.format("%d %d", max, min), 9007199254740993, 9007199254740993 + 0.0)
