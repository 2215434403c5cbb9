-- jit: compiled
-- Run-time:
--   stdout:
--     numeric for:	1	500	1000	500500
--     generic for:	1a	2b	3c
--     while:	3	4	2001	5
--     repeat:	1	1000
--     shared:	500500
--     iterations:	1000

-- Each iteration of a loop has fresh locals: closures created in a numeric `for`, a generic
-- `for`, a `while` body and a `repeat` body each capture their own variable; a local declared
-- outside the loop is shared by all of them.

local fs = {}
for i = 1, 1000 do fs[i] = function() return i end end
local s = 0
for i = 1, 1000 do s = s + fs[i]() end
print("numeric for:", fs[1](), fs[500](), fs[1000](), s)

local gs = {}
for k, v in ipairs({ "a", "b", "c" }) do gs[k] = function() return k .. v end end
print("generic for:", gs[1](), gs[2](), gs[3]())

local ws = {}
local j = 0
while j < 1000 do
  j = j + 1
  local captured = j * 2
  ws[j] = function() captured = captured + 1; return captured end
end
print("while:", ws[1](), ws[1](), ws[1000](), ws[2]())

local rs = {}
local r = 0
repeat
  r = r + 1
  local mine = r
  rs[r] = function() return mine end
until r == 1000
print("repeat:", rs[1](), rs[1000]())

local shared = 0
local incs = {}
for i = 1, 1000 do incs[i] = function() shared = shared + i end end
for i = 1, 1000 do incs[i]() end
print("shared:", shared)

-- Modifying the loop variable's copy inside a closure doesn't affect the loop.
local count = 0
for i = 1, 1000 do
  local set = function() i = i * 100 end
  set()
  count = count + 1
end
print("iterations:", count)
