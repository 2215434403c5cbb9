-- jit: compiled
-- Run-time:
--   stdout:
--     Hello	Lua!	Lua	Lua!	[]	Hello, Lua!	Hel
--     HELLO, LUA!	hello, lua!	!auL ,olleH	11	11	0
--     3 items	abcabc	120
--     3	true	ABCD	true
--     long
--     string	with ]] inside
--     numeric palindromes up to 2000:	118
--     true	false
--     sum of 3-digit windows	247959

-- string.sub with positive, negative and out-of-range indices, upper/lower/reverse/len,
-- the # operator, method-call syntax on string values, and a palindrome check in a hot loop.

local s = "Hello, Lua!"
print(s:sub(1, 5), s:sub(-4), s:sub(-4, -2), s:sub(8), "[" .. s:sub(5, 2) .. "]", s:sub(0), s:sub(-100, 3))
print(s:upper(), s:lower(), s:reverse(), s:len(), #s, #"")
print(("%d items"):format(3), ("abc"):rep(2), ("x"):byte())
print(#"\0\1\2", ("a\0b"):upper() == "A\0B", "\65\066\x43\u{44}", "tab[\t]" == "tab[\9]")
print([[long
string]], [==[with ]] inside]==])

local function is_palindrome(str)
  local t = str:lower():gsub("[^%a]", "")
  return t == t:reverse()
end
local count = 0
for i = 1, 2000 do
  local n = tostring(i)
  if n == n:reverse() then count = count + 1 end
end
print("numeric palindromes up to 2000:", count)
print(is_palindrome("A man, a plan, a canal: Panama"), is_palindrome("Lua"))

-- Building substrings in a hot loop.
local text = string.rep("0123456789", 50)
local acc = 0
for i = 1, #text - 2 do acc = acc + tonumber(text:sub(i, i + 2)) end
print("sum of 3-digit windows", acc)
