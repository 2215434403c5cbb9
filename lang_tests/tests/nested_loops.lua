-- jit: compiled
-- Run-time:
--   stdout:
--     C[1][1]	9425	C[N][N]	-17545	C[7][19]	-115
--     trace	0
--     triples	1411
--     while/repeat total	834275

-- Nested loops: matrix multiplication, a triangular loop and loops mixing `for`, `while`
-- and `repeat`.

local N = 30
local A, B = {}, {}
for i = 1, N do
  A[i], B[i] = {}, {}
  for j = 1, N do
    A[i][j] = i + j
    B[i][j] = i - j
  end
end
local C = {}
for i = 1, N do
  local row = {}
  for j = 1, N do
    local s = 0
    for k = 1, N do s = s + A[i][k] * B[k][j] end
    row[j] = s
  end
  C[i] = row
end
print("C[1][1]", C[1][1], "C[N][N]", C[N][N], "C[7][19]", C[7][19])
local trace = 0
for i = 1, N do trace = trace + C[i][i] end
print("trace", trace)

-- Pairs i < j < k with i + j + k divisible by 7.
local count = 0
for i = 1, 40 do
  for j = i + 1, 40 do
    for k = j + 1, 40 do
      if (i + j + k) % 7 == 0 then count = count + 1 end
    end
  end
end
print("triples", count)

local outer, total = 0, 0
while outer < 50 do
  outer = outer + 1
  local inner = 0
  repeat
    inner = inner + 1
    total = total + outer * inner
  until inner >= outer
end
print("while/repeat total", total)
