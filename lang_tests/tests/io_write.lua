-- jit: compiled
-- Run-time:
--   stdout:
--     a1 2.5 1 -0 1e+100
--     chained writes
--     true	file	nil	file
--     250 500
--     750 1000
--     1250 1500
--     1750 2000
--     false	bad argument #1 to 'io.write' (string expected, got table)
--     [ 3.14|7   |end]

-- io.write: several arguments, numbers (floats written with "%.14g", so 1.0 comes out as "1",
-- unlike tostring), chaining through the returned file, io.stdout:write and :setvbuf, and
-- writing in a hot loop; wrong argument types are errors.

io.write("a", 1, " ", 2.5, " ", 1.0, " ", -0.0, " ", 1e100, "\n")
io.write("chained"):write(" writes"):write("\n")
print(io.write() == io.stdout, io.type(io.stdout), io.type(42), io.type(io.stdin))
io.stdout:setvbuf("full")
for i = 1, 2000 do
  if i % 250 == 0 then io.write(i, i % 500 == 0 and "\n" or " ") end
end
io.stdout:setvbuf("line")
local ok, err = pcall(io.write, {})
print(ok, err)
io.stdout:write(string.format("[%5.2f|%-4d|%s]\n", 3.14159, 7, "end"))
