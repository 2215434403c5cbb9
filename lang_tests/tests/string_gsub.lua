-- jit: compiled
-- Run-time:
--   stdout:
--     hell0 w0rld	2
--     <hello> <world>	2
--     hello hello world	1
--     -a-b-c-	4
--     trim me	1
--     Ann is 42	2
--     1 4 9 16	4
--     KEEP KEEP	2
--     a%b%c	2
--     1 = x, 22 = y	2
--     false	invalid capture index %2
--     XaXcX	3
--     round trips	1500	replacements	7500
--     a&amp;b&lt;c&gt;d&quot;e&#39;f

-- string.gsub with string, table and function replacements, captures (%1, %0), the
-- replacement count, a limit on the number of replacements, and anchored patterns.

print(string.gsub("hello world", "o", "0"))
print(string.gsub("hello world", "(%w+)", "<%1>"))
print(string.gsub("hello world", "%w+", "%0 %0", 1))
print(string.gsub("abc", "", "-"))
print(string.gsub("  trim me  ", "^%s*(.-)%s*$", "%1"))
print(string.gsub("$name is $age", "%$(%w+)", { name = "Ann", age = 42 }))
print(string.gsub("1 2 3 4", "%d", function(d) return d * d end))
print(string.gsub("keep KEEP", "%a+", function(w) if w == "KEEP" then return nil end return w:upper() end))
print(string.gsub("a.b.c", "%.", "%%"))
print(string.gsub("x = 1, y = 22", "(%w+) = (%w+)", "%2 = %1"))
print(pcall(string.gsub, "x", "x", "%2"))
print(string.gsub("abc", "b*", "X"))

-- A hot loop: escaping and unescaping a string many times must round-trip.
local src = "a&b<c>d\"e'f"
local escapes = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }
local back = { amp = "&", lt = "<", gt = ">", quot = '"', ["#39"] = "'" }
local ok, total = 0, 0
for i = 1, 1500 do
  local s = src .. i
  local esc, n = s:gsub("[&<>\"']", escapes)
  local un = esc:gsub("&(#?%w+);", back)
  if un == s then ok = ok + 1 end
  total = total + n
end
print("round trips", ok, "replacements", total)
print((src:gsub("[&<>\"']", escapes)))
