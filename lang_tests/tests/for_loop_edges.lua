-- jit: compiled
-- Run-time:
--   stdout:
--     up to maxinteger:	3
--     down to mininteger:	3
--     huge step:	5
--     whole range in steps of 2^62:	4
--     integer1 integer2 integer3
--     math.huge limit, broke at	3001
--     float limit below start:	0
--     false	for_loop_edges.lua:44: 'for' step is zero
--     false	for_loop_edges.lua:45: bad 'for' limit (number expected, got string)
--     false	for_loop_edges.lua:46: 'for' step is zero
--     iterations with a shrinking limit variable:	1000	0
--     0 to 1 by 0.1:	11	0.99999999999999989

-- Edge cases of the numeric `for` in Lua 5.4: loops ending at maxinteger/mininteger don't
-- overflow into endless loops, a float limit with an integer start, huge steps, a zero step
-- being an error, and the iteration count being fixed before the loop starts.

local n = 0
for i = math.maxinteger - 2, math.maxinteger do n = n + 1 end
print("up to maxinteger:", n)
n = 0
for i = math.mininteger + 2, math.mininteger, -1 do n = n + 1 end
print("down to mininteger:", n)
n = 0
for i = 1, math.maxinteger, math.maxinteger // 4 do n = n + 1 end
print("huge step:", n)
n = 0
for i = math.mininteger, math.maxinteger, 2 ^ 62 // 1 | 0 do n = n + 1 end
print("whole range in steps of 2^62:", n)

-- An integer start with a float limit iterates over integers up to floor(limit).
local seen = {}
for i = 1, 3.7 do seen[#seen + 1] = math.type(i) .. i end
print(table.concat(seen, " "))
for i = 1, math.huge do if i > 3000 then seen = i break end end
print("math.huge limit, broke at", seen)
n = 0
for i = 3, 2.5 do n = n + 1 end
print("float limit below start:", n)

print(pcall(function() for i = 1, 10, 0 do end end))
print(pcall(function() for i = 1, "x" do end end))
print(pcall(function() for i = 1.0, 10, 0.0 do end end))

-- The limit is evaluated once.
local limit = 1000
n = 0
for i = 1, limit do
  limit = limit - 1
  n = n + 1
end
print("iterations with a shrinking limit variable:", n, limit)

-- A float loop whose step isn't exact in binary.
n = 0
local last
for x = 0, 1, 0.1 do n = n + 1; last = x end
print("0 to 1 by 0.1:", n, string.format("%.17g", last))
