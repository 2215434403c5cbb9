-- Run-time:
--   stdin:
--     3
--     first line
--     10 20 30
--     2.5 0x10 -7
--     tail one
--     tail two
--   stdout:
--     count	3	integer
--     rest of line	"\
--     "
--     line	first line
--     sum	60
--     2.5	16	-7	float	integer
--     three bytes	tai
--     [l one] [tail two]
--     at eof	nil	true	nil

-- Reading standard input: io.read with "l" (lines), "L" (keeping the newline), "n"
-- (numbers in several notations), a byte count, and "a" (the rest); io.lines over what is
-- left; and nil at end of file.

local count = io.read("n")
print("count", count, math.type(count))
print("rest of line", ("%q"):format(io.read("L")))
print("line", io.read("l"))
local sum = 0
for _ = 1, count do sum = sum + io.read("n") end
print("sum", sum)
local a, b, c = io.read("n", "n", "n")
print(a, b, c, math.type(a), math.type(b))
io.read("l") -- the end of that line
print("three bytes", io.read(3))
local lines = {}
for line in io.lines() do lines[#lines + 1] = "[" .. line .. "]" end
print(table.concat(lines, " "))
print("at eof", io.read("l"), io.read("a") == "", io.read(0))
