-- Numeric loops: nested integer and float `for` loops, `while` and arithmetic with no
-- allocation. The checksum is a sum kept below 2^53 so that it is exact on every VM.

local function bench(size)
  local acc = 0
  for i = 1, size do
    -- Integer arithmetic with a modulus, so the values stay small and exact.
    for j = 1, 100 do
      acc = (acc + i * j + (i - j) % 7) % 1000000007
    end
  end
  -- A float loop: the partial sum of a convergent series, rounded to an integer at the end.
  local x = 0.0
  local k = 1
  while k <= size * 20 do
    x = x + 1.0 / (k * k) + 0.5 * (k % 3)
    k = k + 1
  end
  return acc + math.floor(x * 1000)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
