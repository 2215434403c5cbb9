-- Recursion: naive Fibonacci, Takeuchi's function and Ackermann's function, which are
-- dominated by calls and returns.

local function fib(n)
  if n < 2 then
    return n
  end
  return fib(n - 1) + fib(n - 2)
end

local function tak(x, y, z)
  if y >= x then
    return z
  end
  return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y))
end

local function ack(m, n)
  if m == 0 then
    return n + 1
  elseif n == 0 then
    return ack(m - 1, 1)
  end
  return ack(m - 1, ack(m, n - 1))
end

-- `size` is the Fibonacci argument; the other two scale with it.
local function bench(size)
  local r = fib(size)
  r = r + tak(18, 12, 6)
  r = r + ack(2, size * 10)
  return r
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
