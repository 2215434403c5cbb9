-- jit: compiled
-- Run-time:
--   stdin:
--     the quick brown fox
--     jumps over
--     the lazy dog
--
--     the end
--   stdout:
--     lines	4	words	11	letters	41
--     a1 b1 c1 d2 e5 f1 g1 h3 i1 j1 k1 l1 m1 n2 o4 p1 q1 r2 s1 t3 u2 v1 w1 x1 y1 z1

-- Reading all of standard input at once and processing it in hot loops: counting lines,
-- words and letter frequencies (printed in sorted order).

local text = io.read("a")
local lines, words, letters = 0, 0, 0
for _ in text:gmatch("[^\n]*\n") do lines = lines + 1 end
local freq = {}
for w in text:gmatch("%a+") do
  words = words + 1
  for i = 1, #w do
    local ch = w:sub(i, i)
    freq[ch] = (freq[ch] or 0) + 1
    letters = letters + 1
  end
end
print("lines", lines, "words", words, "letters", letters)
local keys = {}
for k in pairs(freq) do keys[#keys + 1] = k end
table.sort(keys)
local out = {}
for _, k in ipairs(keys) do out[#out + 1] = k .. freq[k] end
print(table.concat(out, " "))
