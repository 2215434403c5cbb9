-- Strings: building with `..` and table.concat, string.format, string.sub/byte/char,
-- string.rep, pattern matching with gmatch/gsub/find. The checksum folds the byte values of
-- the results, so it changes if any string operation goes wrong.

local function fold(s, h)
  for i = 1, #s do
    h = (h * 31 + string.byte(s, i)) % 1000000007
  end
  return h
end

local function bench(size)
  local parts = {}
  for i = 1, size do
    parts[#parts + 1] = string.format("%d:%s;", i, string.char(97 + i % 26))
  end
  local s = table.concat(parts)
  local h = fold(s, 7)
  -- Count and transform with patterns.
  local digits = 0
  for num in string.gmatch(s, "%d+") do
    digits = digits + #num
  end
  local upper, n = string.gsub(s, "(%a);", function(c) return string.upper(c) .. "," end)
  h = fold(string.sub(upper, 1, 2000), h) + digits + n
  -- Repeated small concatenation and searching.
  local acc = ""
  for i = 1, size do
    acc = acc .. string.sub("abcdefghij", i % 10 + 1, i % 10 + 1)
    if #acc > 64 then
      local p = string.find(acc, "jab", 1, true) or 0
      h = (h + p) % 1000000007
      acc = string.rep("x", i % 5)
    end
  end
  return h
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
