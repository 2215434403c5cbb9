-- jit: compiled
-- Run-time:
--   stdout:
--     primes	9592	sum	454396537	largest	99991	twin pairs	1224
--     gaps	1:1 2:1224 4:1215 6:1940 8:773 10:916	largest gap	72

-- The sieve of Eratosthenes over a boolean array, twin primes and a prime-gap histogram
-- from the result.

local N = 100000
local composite = {}
for i = 1, N do composite[i] = false end
composite[1] = true
for i = 2, N do
  if not composite[i] then
    for j = i * i, N, i do composite[j] = true end
  end
end
local count, sum, last, twins = 0, 0, nil, 0
local gaps = {}
for i = 2, N do
  if not composite[i] then
    count = count + 1
    sum = sum + i
    if last then
      local g = i - last
      gaps[g] = (gaps[g] or 0) + 1
      if g == 2 then twins = twins + 1 end
    end
    last = i
  end
end
print("primes", count, "sum", sum, "largest", last, "twin pairs", twins)
local gs = {}
for g in pairs(gaps) do gs[#gs + 1] = g end
table.sort(gs)
local show = {}
for i = 1, 6 do show[#show + 1] = gs[i] .. ":" .. gaps[gs[i]] end
print("gaps", table.concat(show, " "), "largest gap", gs[#gs])
