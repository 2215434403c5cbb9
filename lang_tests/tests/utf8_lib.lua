-- jit: compiled
-- Run-time:
--   stdout:
--     10	4	72	228	8364	128512
--     nil	3
--     0	3
--     4	7	[]	14
--     1:72 2:228 4:8364 7:128512
--     false	invalid UTF-8 code
--     code points	9656	bytes	29241	bad	0

-- The utf8 library: char, codepoint, len (and its error position for invalid input),
-- offset, codes, and encoding/decoding many code points in a hot loop.

local s = utf8.char(72, 228, 8364, 128512)
print(#s, utf8.len(s), utf8.codepoint(s, 1, -1))
print(utf8.len("ab\xffcd"))
print(utf8.len(""), utf8.len(s, 2))
print(utf8.offset(s, 3), utf8.offset(s, -1), "[" .. utf8.char() .. "]", #utf8.charpattern)
local cps = {}
for p, c in utf8.codes(s) do cps[#cps + 1] = p .. ":" .. c end
print(table.concat(cps, " "))
print(pcall(utf8.codepoint, s, 3))

-- Encode every 7th code point below 0x11000 (skipping surrogates) and decode it again.
local bad, count, bytes = 0, 0, 0
for cp = 0, 0x10FFF, 7 do
  if cp < 0xD800 or cp > 0xDFFF then
    local ch = utf8.char(cp)
    bytes = bytes + #ch
    if utf8.codepoint(ch) ~= cp or utf8.len(ch) ~= 1 then bad = bad + 1 end
    count = count + 1
  end
end
print("code points", count, "bytes", bytes, "bad", bad)
