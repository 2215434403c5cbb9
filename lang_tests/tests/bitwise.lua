-- jit: compiled
-- Run-time:
--   stdout:
--     48	252	204	-1	-6
--     4611686018427387904	-9223372036854775808	0	9223372036854775807	1	4	2
--     1	1024	false	bitwise.lua:18: number has no integer representation
--     false	bitwise.lua:21: attempt to perform bitwise operation on a string value (constant '12')
--     1	-1	true
--     bits set in 0..4095:	24576	64	1
--     xor of reversed	49	32768	1	11336

-- Bitwise operators on 64-bit integers: and/or/xor/not, shifts (logical, with counts of 64
-- or more giving 0 and negative counts shifting the other way), floats with integral values
-- converted, strings not, and a popcount in a hot loop.

print(0xF0 & 0x3C, 0xF0 | 0x3C, 0xF0 ~ 0x3C, ~0, ~5)
print(1 << 62, 1 << 63, 1 << 64, -1 >> 1, -1 >> 63, 2 >> -1, 8 << -2)
print(3.0 & 1, 2 ^ 10 | 0, pcall(function() return 1.5 & 1 end))
-- Unlike arithmetic, bitwise operators don't convert strings (the string metatable has no
-- bitwise metamethods).
print(pcall(function() return "12" | 1 end))
print(math.mininteger >> 63, math.maxinteger ~ math.mininteger, 0x7fffffffffffffff + 1 == 1 << 63)

local function popcount(x)
  local c = 0
  while x ~= 0 do
    x = x & (x - 1)
    c = c + 1
  end
  return c
end
local total = 0
for i = 0, 4095 do total = total + popcount(i) end
print("bits set in 0..4095:", total, popcount(-1), popcount(math.mininteger))

-- Reversing the bits of 16-bit values with shifts and masks.
local function rev16(x)
  local r = 0
  for _ = 1, 16 do
    r = (r << 1) | (x & 1)
    x = x >> 1
  end
  return r
end
local acc = 0
for i = 1, 2000 do acc = acc ~ rev16(i * 31) end
print("xor of reversed", acc, rev16(1), rev16(0x8000), rev16(0x1234))
