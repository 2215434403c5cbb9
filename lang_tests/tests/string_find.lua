-- jit: compiled
-- Run-time:
--   stdout:
--     5	5
--     8	8
--     nil
--     nil
--     1	nil	6	5
--     2	2	2
--     1	7	key	val
--     2	4	4
--     4	5
--     abra	600	a	1500	cad	300
--     vowels	1500	position sum	2700000

-- string.find: plain and pattern searches, init positions (negative, past the end),
-- captures returned after the indices, and counting occurrences in a hot loop.

print(string.find("hello world", "o"))
print(string.find("hello world", "o", 6))
print(string.find("hello world", "o", -3))
print(string.find("hello world", "xyz"))
print(string.find("hello", ""), string.find("hello", "", 10), string.find("hello", "", 6))
print(string.find("a+b", "+", 1, true), string.find("a+b", "%+"))
print(string.find("key=val", "(%w+)=(%w+)"))
print(string.find("a.b.c", ".", 1, true), string.find("a.b.c", "%.", 3))
print(("x"):rep(5):find("xx", 4))

-- Counting non-overlapping occurrences of a substring in a long text.
local text = string.rep("abracadabra ", 300)
local function count(s, sub)
  local n, pos = 0, 1
  while true do
    local i, j = string.find(s, sub, pos, true)
    if not i then return n end
    n = n + 1
    pos = j + 1
  end
end
print("abra", count(text, "abra"), "a", count(text, "a"), "cad", count(text, "cad"))

-- Positions of all vowels, summed.
local possum, vowels = 0, 0
local init = 1
while true do
  local i = text:find("[aeiou]", init)
  if not i then break end
  possum = possum + i
  vowels = vowels + 1
  init = i + 1
end
print("vowels", vowels, "position sum", possum)
