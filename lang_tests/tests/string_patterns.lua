-- jit: compiled
-- Run-time:
--   stdout:
--     key	value
--     2024	01	15
--     3	5
--     nil	[   ]
--     (a(b)c)	quick
--     <a	<a>
--     123	[a][b][]
--     test	a	b
--     ll	o
--     1
--     false	malformed pattern (ends with '%')
--     false	malformed pattern (missing ']')
--     the quick brown fox the lazy dog
--     a->1 b->22 c->333
--     THE,quick,fox
--     valid ids	1333	valid dates	1662

-- Patterns with string.match and string.gmatch: character classes, sets, quantifiers (* + -
-- ?), anchors, captures including position captures, %b balanced matches and %f frontiers.

print(string.match("key = value", "(%w+)%s*=%s*(%w+)"))
print(string.match("2024-01-15", "(%d+)-(%d+)-(%d+)"))
print(string.match("hello", "()ll()"))
print(string.match("  x", "^%s*$"), "[" .. string.match("   ", "^%s*$") .. "]")
print(string.match("f(a(b)c)d", "%b()"), string.match("THE (quick) fox", "%f[%a]%a+", 5))
print(string.match("<<a>>", "<(.-)>"), string.match("<<a>>", "<(.*)>"))
print(string.match("abc123def", "%a+(%d+)%a+"), ("[%s][%s][%s]"):format(string.match("abc", "^(a?)(b?)(x?)c")))
print(string.match("[test]", "%[(.*)%]"), string.match("a.b", "^(.-)%.(.*)$"))
print(string.match("hello", ".-(l+)(.*)"))
print(string.match("x", "()"))
print(pcall(string.match, "x", "(%"))
print(pcall(string.match, "x", "[a"))

local words = {}
for w in string.gmatch("The quick brown fox; the LAZY dog.", "%a+") do words[#words + 1] = w:lower() end
print(table.concat(words, " "))
local kv = {}
for k, v in string.gmatch("a=1, b=22, c=333", "(%w+)=(%w+)") do kv[#kv + 1] = k .. "->" .. v end
print(table.concat(kv, " "))
local frontier = {}
for w in string.gmatch("THE (quick) fox", "%f[%a]%a+") do frontier[#frontier + 1] = w end
print(table.concat(frontier, ","))

-- A hot loop: validating generated identifiers and dates.
local valid_ids, valid_dates = 0, 0
for i = 1, 2000 do
  local id = (i % 3 == 0 and "_" or (i % 3 == 1 and "v" or "9")) .. i
  if id:match("^[%a_][%w_]*$") then valid_ids = valid_ids + 1 end
  local date = string.format("%04d-%02d-%02d", 2000 + i % 30, i % 14, i % 32)
  local y, m, d = date:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  m, d = tonumber(m), tonumber(d)
  if y and m >= 1 and m <= 12 and d >= 1 and d <= 31 then valid_dates = valid_dates + 1 end
end
print("valid ids", valid_ids, "valid dates", valid_dates)
