-- demo.lua: the hot numeric loop of `cargo xtask lua-demo` (plain lua against yklua).
-- Sums the Leibniz series for pi in floats while folding the loop counter into a 32-bit
-- integer hash: float and integer arithmetic, bitwise operations and one loop, with the
-- same path through the interpreter on every iteration.
--
-- usage: lua demo.lua [iterations]   (default 100000000)

local n = math.tointeger(tonumber(arg and arg[1] or "100000000"))
if not n or n < 1 then
  error("the number of iterations must be a positive integer, got " .. tostring(arg[1]))
end

local pi, sign, h = 0.0, 1.0, 0
for i = 0, n - 1 do
  pi = pi + sign / (2 * i + 1)
  sign = -sign
  h = (h * 31 + i) & 0xffffffff
end
print(string.format("pi ~ %.12f after %d terms; hash %d", 4 * pi, n, h))
