-- jit: compiled
-- Run-time:
--   stdout:
--     [   42] [42   ] [00042] [+42] [ff] [FF] [10] [0xff]
--     [3.142] [     -2.50] [1.2       ] [1.234568e+04] [1e+20] [0.0001] [100]
--     [hi] [     right] [left      ] [tr] [Lua]
--     ["a \"quoted\"\
--     \9string\0end"]
--     42 0x1.8p+0 0x8000000000000000
--     nil true 12 1.0
--     50%	    a|
--     0x1p+0
--     false	bad argument #2 to 'string.format' (number has no integer representation)
--     false	bad argument #2 to 'string.format' (number expected, got string)
--     false	invalid conversion '%y' to 'format'
--     42	3	0	2
--     total length	40000	checksum	199672
--     1999:59    | 666.333

-- string.format: integer, float, string, character and quoting conversions with widths,
-- precisions and flags (outputs are bracketed, since the harness ignores leading and trailing
-- blanks), and a formatting hot loop.

print(string.format("[%5d] [%-5d] [%05d] [%+d] [%x] [%X] [%o] [%#x]", 42, 42, 42, 42, 255, 255, 8, 255))
print(string.format("[%.3f] [%10.2f] [%-10.1f] [%e] [%g] [%g] [%g]", math.pi, -2.5, 1.25, 12345.678, 1e20, 0.0001, 100))
print(string.format("[%s] [%10s] [%-10s] [%.2s] [%c%c%c]", "hi", "right", "left", "truncate", 76, 117, 97))
print(string.format("[%q]", 'a "quoted"\n\tstring\0end'))
print(string.format("%q %q %q", 42, 1.5, math.mininteger))
print(string.format("%s %s %s %s", nil, true, 12, 1.0))
print(string.format("%d%%", 50), string.format("%5.1s|", "abc"))
print(string.format("%a", 1.0))
print(pcall(string.format, "%d", 1.5))
print(pcall(string.format, "%d", "x"))
print(pcall(string.format, "%y", 1))
print(string.format("%d", "42"), string.format("%d", 3.0), string.format("%.0f", 0.5), string.format("%.0f", 1.5))

-- Formatting in a hot loop: the total length and a checksum of the bytes.
local len, sum = 0, 0
for i = 1, 2000 do
  local s = string.format("%04d:%-6s|%8.3f", i, tostring(i % 97), i / 3)
  len = len + #s
  sum = sum + s:byte(1) + s:byte(-1)
end
print("total length", len, "checksum", sum)
print(string.format("%04d:%-6s|%8.3f", 1999, tostring(1999 % 97), 1999 / 3))
