-- jit: compiled
-- Run-time:
--   stdout:
--     ack(0, 0..5):	1 2 3 4 5 6
--     ack(1, 0..5):	2 3 4 5 6 7
--     ack(2, 0..5):	3 5 7 9 11 13
--     ack(3, 5) =	253
--     hanoi(12) moves	4095
--     permutations	5040	checksum	402143641

-- The Ackermann function for small arguments (deep, irregular recursion), Hanoi move
-- counting, and a recursive permutation generator.

local function ack(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, n - 1))
end
for m = 0, 2 do
  local row = {}
  for n = 0, 5 do row[#row + 1] = ack(m, n) end
  print("ack(" .. m .. ", 0..5):", table.concat(row, " "))
end
print("ack(3, 5) =", ack(3, 5))

local moves = 0
local function hanoi(n, from, to, via)
  if n == 0 then return end
  hanoi(n - 1, from, via, to)
  moves = moves + 1
  hanoi(n - 1, via, to, from)
end
hanoi(12, 1, 3, 2)
print("hanoi(12) moves", moves)

local count, checksum = 0, 0
local function permute(a, k)
  if k == 0 then
    count = count + 1
    local v = 0
    for i = 1, #a do v = v * 10 + a[i] end
    checksum = (checksum + v * count) % 1000000007
    return
  end
  for i = 1, k do
    a[i], a[k] = a[k], a[i]
    permute(a, k - 1)
    a[i], a[k] = a[k], a[i]
  end
end
permute({ 1, 2, 3, 4, 5, 6, 7 }, 7)
print("permutations", count, "checksum", checksum)
