-- spectral-norm: the spectral norm of an infinite matrix A (a_ij = 1/((i+j)(i+j+1)/2+i+1)),
-- approximated by 10 power iterations of A^T A on vectors of length `size`.

local function a(i, j)
  local ij = i + j - 1
  return 1.0 / (ij * (ij - 1) * 0.5 + i)
end

local function av(x, y, n)
  for i = 1, n do
    local s = 0
    for j = 1, n do
      s = s + a(i, j) * x[j]
    end
    y[i] = s
  end
end

local function atv(x, y, n)
  for i = 1, n do
    local s = 0
    for j = 1, n do
      s = s + a(j, i) * x[j]
    end
    y[i] = s
  end
end

local function atav(x, y, t, n)
  av(x, t, n)
  atv(t, y, n)
end

local function bench(size)
  local n = size
  local u, v, t = {}, {}, {}
  for i = 1, n do
    u[i] = 1
  end
  for _ = 1, 10 do
    atav(u, v, t, n)
    atav(v, u, t, n)
  end
  local vbv, vv = 0, 0
  for i = 1, n do
    local ui, vi = u[i], v[i]
    vbv = vbv + ui * vi
    vv = vv + vi * vi
  end
  return string.format("%.9f", math.sqrt(vbv / vv))
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
