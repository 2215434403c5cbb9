-- fannkuch-redux: for every permutation of 1..size (in the benchmark's fixed order), count
-- the prefix reversals ("pancake flips") until 1 is at the front; report the maximum and a
-- signed checksum over the permutations.

local function bench(n)
  local perm, perm1, count = {}, {}, {}
  for i = 0, n - 1 do
    perm1[i] = i
  end
  local maxflips, checksum, sign = 0, 0, 1
  local r = n
  while true do
    while r ~= 1 do
      count[r - 1] = r
      r = r - 1
    end
    for i = 0, n - 1 do
      perm[i] = perm1[i]
    end
    -- Count the flips of this permutation.
    local flips = 0
    local k = perm[0]
    while k ~= 0 do
      local i, j = 0, k
      while i < j do
        perm[i], perm[j] = perm[j], perm[i]
        i = i + 1
        j = j - 1
      end
      flips = flips + 1
      k = perm[0]
    end
    if flips > maxflips then
      maxflips = flips
    end
    checksum = checksum + sign * flips
    sign = -sign
    -- The next permutation: rotate the first r+1 elements until a counter is not exhausted.
    while true do
      if r == n then
        return string.format("%d %d", checksum, maxflips)
      end
      local p0 = perm1[0]
      for i = 0, r - 1 do
        perm1[i] = perm1[i + 1]
      end
      perm1[r] = p0
      count[r] = count[r] - 1
      if count[r] > 0 then
        break
      end
      r = r + 1
    end
  end
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
