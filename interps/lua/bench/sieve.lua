-- Sieve of Eratosthenes over 2..size with a boolean array: the number of primes and the sum
-- of the last few found.

local function bench(size)
  local composite = {}
  for i = 1, size do
    composite[i] = false
  end
  local count, tail = 0, 0
  for i = 2, size do
    if not composite[i] then
      count = count + 1
      tail = (tail * 7 + i) % 1000000007
      for j = i * i, size, i do
        composite[j] = true
      end
    end
  end
  return string.format("%d %d", count, tail)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
