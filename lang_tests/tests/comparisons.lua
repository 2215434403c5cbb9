-- jit: compiled
-- Run-time:
--   stdout:
--     true	true	true	true	true
--     true	true	true
--     false	true
--     true	false	true	true	true	true	true
--     false	false	false	false
--     false	comparisons.lua:23: attempt to compare number with string
--     false	comparisons.lua:24: attempt to compare two table values
--     false	false	false	true
--     lo	1248	mid	2503	hi	1249
--     max string	999

-- Comparisons: integers against floats (exact, even beyond 2^53), strings (byte order),
-- mixing types (== is false, < is an error), and comparison-driven branches in hot loops.

print(1 == 1.0, 1 < 1.5, -0.0 == 0, 2 ^ 53 == 2 ^ 53 + 1, 9007199254740993 < 9007199254740994.0)
print(math.maxinteger < 2 ^ 63, math.maxinteger + 0.0 == 2 ^ 63, math.mininteger <= -2 ^ 63)
print(9007199254740993 == 9007199254740992.0, 9007199254740992 == 9007199254740992.0)
print("a" < "b", "a" < "B", "abc" < "abd", "ab" < "abc", "" < "a", "Z" < "a", "10" < "9")
print(1 == "1", "1" == 1, {} == {}, nil == false)
print(pcall(function() return 1 < "2" end))
print(pcall(function() return {} < {} end))
local nan = 0 / 0
print(nan < 1, nan > 1, nan <= nan, not (nan >= 0))

-- Counting how many values fall into each bucket, with chained comparisons, in a hot loop.
local lo, mid, hi = 0, 0, 0
for i = 1, 5000 do
  local x = (i * 7919) % 1000 + (i % 3) * 0.5
  if x < 250 then lo = lo + 1
  elseif x <= 750.25 then mid = mid + 1
  else hi = hi + 1 end
end
print("lo", lo, "mid", mid, "hi", hi)

-- Lexicographic maximum of generated strings.
local best = ""
for i = 1, 2000 do
  local s = tostring(i * 37 % 1009)
  if s > best then best = s end
end
print("max string", best)
