-- jit: compiled
-- Run-time:
--   stdout:
--     first i with i*i > 2e6:	1415
--     while true stopped at	5001
--     repeat stopped at	1234
--     pairs with a*b <= 300:	1567

-- `break` out of each kind of loop, from hot iterations, and out of the inner one of two
-- nested loops only.

local found
for i = 1, 100000 do
  if i * i > 2000000 then found = i; break end
end
print("first i with i*i > 2e6:", found)

local n = 0
while true do
  n = n + 3
  if n > 5000 then break end
end
print("while true stopped at", n)

local r = 0
repeat
  r = r + 1
  if r == 1234 then break end
until false
print("repeat stopped at", r)

-- break leaves only the innermost loop.
local pairs_found = 0
for a = 1, 200 do
  for b = 1, 200 do
    if a * b > 300 then break end
    pairs_found = pairs_found + 1
  end
end
print("pairs with a*b <= 300:", pairs_found)
