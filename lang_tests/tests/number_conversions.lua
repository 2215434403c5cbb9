-- jit: compiled
-- Run-time:
--   stdout:
--     42	31	1000.0	3.0	0.5
--     35	511	255	nil
--     nil	nil	nil	nil	nil
--     integer	float	float
--     11	20	3.5	16	-2	3	integer
--     false	number_conversions.lua:27: attempt to add a 'string' with a 'number'
--     true	3	nil	8
--     3	false	number_conversions.lua:29: number has no integer representation
--     3.0	true	inf
--     4501500	integer	4503000.0	float
--     2000	1000	1000	integer
--     4501500.0	4501500	true
--     1e+15	1e+16	-0.0	100.0	255

-- Conversions between integers, floats and strings: tonumber in various forms and bases,
-- string operands coerced by arithmetic, math.tointeger, float keys normalised to integers,
-- and integer/float equality.

print(tonumber("42"), tonumber("  0x1F  "), tonumber("1e3"), tonumber("3.0"), tonumber(".5"))
print(tonumber("z", 36), tonumber("777", 8), tonumber("ff", 16), tonumber("12", 2))
print(tonumber(""), tonumber("1 2"), tonumber("0x"), tonumber("inf"), tonumber("nan"))
print(math.type(tonumber("10")), math.type(tonumber("10.0")), math.type(tonumber("1e1")))
print("10" + 1, "10" * "2", "3.5" + 0, "0x10" + 0, -"2", "10" // "3", math.type("10" + 1))
print(pcall(function() return "abc" + 1 end))
print(10 == 10.0, math.tointeger(3.0), math.tointeger(3.5), math.tointeger("8"))
print(3 | 0, pcall(function() return 3.5 | 0 end))
print(string.format("%.1f", 3), 2 ^ 63 == math.mininteger * -1.0, 1e308 * 10)

-- Parsing numbers from strings and summing them in a hot loop.
local sum_i, sum_f = 0, 0.0
for i = 1, 3000 do
  sum_i = sum_i + tonumber(tostring(i))
  sum_f = sum_f + tonumber(i .. ".5")
end
print(sum_i, math.type(sum_i), sum_f, math.type(sum_f))

-- Float keys with integral values are the same keys as the integers.
local t = {}
for i = 1, 2000 do t[i + 0.0] = i end
print(#t, t[1000], t[1000.0], math.type(next(t)))

-- Integer <-> float conversion in a hot loop: the float sum is exact here.
local fs = 0.0
for i = 1, 3000 do fs = fs + i end
print(fs, math.tointeger(fs), fs == 4501500)

-- tostring of integers and floats.
print(tostring(1e15), tostring(1e16), tostring(-0.0), tostring(100 // 1.0), 255 // 1 | 0)
