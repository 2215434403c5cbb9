-- jit: compiled
-- Run-time:
--   stdout:
--     4	1	0	0	0
--     0	0	0	1
--     -1	65535	3
--     12	16	8
--     hello	abc	5
--     false	bad argument #2 to 'string.pack' (integer overflow)
--     true
--     mismatches	0	bytes	39393
--     records	1500	sum	75753377250

-- string.pack/unpack/packsize with fixed-size integers, endianness, floats and strings,
-- checked by round-tripping many values in a hot loop.

local packed = string.pack("<i4", 1)
print(#packed, packed:byte(1, -1))
print(string.pack(">i4", 1):byte(1, -1))
print(string.unpack("<i2", "\255\255"), string.unpack("<I2", "\255\255"))
print(string.packsize("i4i8"), string.packsize("<!8 i1 i8"), string.packsize("d"))
print(string.unpack("z", "hello\0rest"), string.unpack("s1", "\3abcdef"))
print(pcall(string.pack, "i1", 200))
print(string.unpack("<d", string.pack("<d", 0.1)) == 0.1)

local bad = 0
local buf = {}
for i = 1, 1500 do
  local v = i * 1000003 - 700000000
  local p = string.pack("<i8 >i4 d s2", v, i, i / 4, "n" .. i)
  buf[#buf + 1] = p
  local a, b, c, d, nextpos = string.unpack("<i8 >i4 d s2", p)
  if a ~= v or b ~= i or c ~= i / 4 or d ~= "n" .. i or nextpos ~= #p + 1 then bad = bad + 1 end
end
local all = table.concat(buf)
print("mismatches", bad, "bytes", #all)
-- Walk the concatenation record by record.
local pos, count, sum = 1, 0, 0
while pos <= #all do
  local a, _, _, _, nextpos = string.unpack("<i8 >i4 d s2", all, pos)
  sum = sum + a
  count = count + 1
  pos = nextpos
end
print("records", count, "sum", sum)
