-- jit: compiled
-- Run-time:
--   stdout:
--     ababab	ab,ab,ab	[]	[]
--     3000	28
--     65	66	67	65	66	67
--     nil	0	0
--     Hi!	true	3
--     false	bad argument #1 to 'string.char' (value out of range)
--     false	bad argument #1 to 'string.char' (value out of range)
--     Gur Dhvpx Oebja Sbk Whzcf Bire Gur Ynml Qbt!
--     round trips	60
--     bytes	256	same	256

-- string.rep (with separators, zero and negative counts), string.byte (ranges, negative
-- indices), string.char, and a Caesar cipher round trip over bytes in a hot loop.

print(string.rep("ab", 3), string.rep("ab", 3, ","), "[" .. string.rep("x", 0) .. "]", "[" .. string.rep("x", -1) .. "]")
print(#string.rep("abc", 1000), #string.rep("a", 10, "--"))
print(string.byte("ABC"), string.byte("ABC", 2), string.byte("ABC", -1), string.byte("ABC", 1, -1))
print(string.byte("ABC", 10), select("#", string.byte("ABC", 10)), select("#", string.byte("", 1)))
print(string.char(72, 105, 33), string.char() == "", #string.char(0, 0, 0))
print(pcall(string.char, 256))
print(pcall(string.char, -1))

local function caesar(s, k)
  local out = {}
  for i = 1, #s do
    local b = s:byte(i)
    if b >= 97 and b <= 122 then
      b = (b - 97 + k) % 26 + 97
    elseif b >= 65 and b <= 90 then
      b = (b - 65 + k) % 26 + 65
    end
    out[i] = string.char(b)
  end
  return table.concat(out)
end
local msg = "The Quick Brown Fox Jumps Over The Lazy Dog!"
local enc = caesar(msg, 13)
print(enc)
local ok = 0
for k = 1, 60 do
  if caesar(caesar(msg, k), 26 - k % 26) == msg then ok = ok + 1 end
end
print("round trips", ok)

-- Every byte value survives char -> byte.
local all = {}
for b = 0, 255 do all[#all + 1] = string.char(b) end
local s = table.concat(all)
local same = 0
for i = 1, #s do if s:byte(i) == i - 1 then same = same + 1 end end
print("bytes", #s, "same", same)
