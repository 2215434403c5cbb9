-- Run-time:
--   env-var: LANG_TESTS_GREETING=hello from the harness
--   stdout:
--     integer	true	number	true
--     hello from the harness	nil
--     1970-01-01 00:00:00	1971-01-01 01:01:01
--     2001	9	9	1	46	40	1	252	false
--     6.0	float
--     false	bad argument #1 to 'os.date' (invalid conversion specifier '%Ez')
--     file lines	100	sum	5050
--     true	true
--     true	true

-- The os library's deterministic parts: os.time's type (and a table argument in UTC-free
-- form through os.date("!")), os.clock's type, os.getenv for a set and an unset variable,
-- os.date with a fixed time in UTC, os.tmpname/remove round trip with io.open.

print(math.type(os.time()), os.time() > 1600000000, type(os.clock()), os.clock() >= 0)
print(os.getenv("LANG_TESTS_GREETING"), os.getenv("LANG_TESTS_SURELY_UNSET_VARIABLE"))
print(os.date("!%Y-%m-%d %H:%M:%S", 0), os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365 + 3661))
local d = os.date("!*t", 1000000000)
print(d.year, d.month, d.day, d.hour, d.min, d.sec, d.wday, d.yday, d.isdst)
print(os.difftime(10, 4), math.type(os.difftime(10, 4)))
print(pcall(os.date, "%Ez", 0))

local name = os.tmpname()
local f = assert(io.open(name, "w"))
for i = 1, 100 do f:write(i, "\n") end
f:close()
local total, n = 0, 0
for line in io.lines(name) do total = total + tonumber(line); n = n + 1 end
print("file lines", n, "sum", total)
print(os.remove(name), io.open(name) == nil)
print(select(2, io.open("/surely/not/there", "r")) ~= nil, (select(2, os.remove("/surely/not/there"))):match("No such file") ~= nil)
