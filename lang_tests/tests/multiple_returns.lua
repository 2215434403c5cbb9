-- jit: compiled
-- Run-time:
--   stdout:
--     1	2	3
--     1	10
--     1
--     nil
--     1	2	3	nil
--     5	nil
--     1	20
--     4
--     0	0	1
--     quotients	2422500	remainders	18000
--     2	1
--     fib(90)	2880067194370816120

-- Multiple results: adjustment to one value except at the end of a list, in assignments
-- (extra values dropped, missing ones nil), parenthesised calls, and returning many values
-- in a hot loop.

local function three() return 1, 2, 3 end
local function none() end
print(three())
print(three(), 10)
print((three()))
print(none(), none())
local a, b, c, d = three()
print(a, b, c, d)
local x, y = 5
print(x, y)
local p, q = three(), 20
print(p, q)
local t = { three(), three() }
print(#t)
print(#{ none() }, select("#", none()), select("#", (none())))

local function divmod(n, m) return n // m, n % m end
local qs, rs = 0, 0
for i = 1, 3000 do
  local dq, dr = divmod(i * 7, 13)
  qs = qs + dq
  rs = rs + dr
end
print("quotients", qs, "remainders", rs)

-- Swapping through multiple assignment (all right-hand sides are evaluated first).
local u, v = 1, 2
for _ = 1, 1001 do u, v = v, u end
print(u, v)
local fa, fb = 0, 1
for _ = 1, 90 do fa, fb = fb, fa + fb end
print("fib(90)", fa)
