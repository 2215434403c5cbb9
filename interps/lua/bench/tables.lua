-- Tables: the array part (fill, read, `#`, table.insert/remove) and the hash part (string
-- and integer keys, update, `pairs` over a table whose contents are summed so the order in
-- which `pairs` visits them does not matter).

local function bench(size)
  local arr = {}
  for i = 1, size do
    arr[i] = i * 3 % 101
  end
  local sum = 0
  for i = 1, #arr do
    sum = sum + arr[i]
  end
  -- A stack via table.insert/table.remove.
  local stack = {}
  for i = 1, size do
    table.insert(stack, arr[i])
    if i % 3 == 0 then
      sum = sum + table.remove(stack)
    end
  end
  sum = sum + #stack
  -- The hash part: counts keyed by strings, then by sparse integers.
  local counts = {}
  for i = 1, size do
    local key = "k" .. (i % 97)
    counts[key] = (counts[key] or 0) + arr[i]
  end
  local sparse = {}
  for i = 1, size do
    sparse[i * 7919] = i
  end
  for k, v in pairs(counts) do
    sum = sum + v * #k
  end
  for k, v in pairs(sparse) do
    sum = sum + (k + v) % 13
  end
  return sum
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
