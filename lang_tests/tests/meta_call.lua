-- jit: compiled
-- Run-time:
--   stdout:
--     1	0	3	171
--     sum	1335336001
--     counter	2500	2501
--     3	1	nil	x
--     true	42
--     false	meta_call.lua:39: attempt to call a table value (local 't')
--     false	meta_call.lua:40: attempt to call a number value (local 'n')

-- __call: callable tables as functors with state, receiving the table itself as the first
-- argument, forwarding varargs, and called in a hot loop; calling a non-callable value fails.

local Poly = {}
Poly.__call = function(self, x)
  local r = 0
  for i = #self, 1, -1 do r = r * x + self[i] end
  return r
end
local p = setmetatable({ 1, -3, 2 }, Poly) -- 1 - 3x + 2x^2
print(p(0), p(1), p(2), p(10))
local s = 0
for x = -1000, 1000 do s = s + p(x) end
print("sum", s)

local counter = setmetatable({ n = 0 }, { __call = function(self, step) self.n = self.n + (step or 1); return self.n end })
for i = 1, 2500 do counter(i % 3) end
print("counter", counter.n, counter())

local echo = setmetatable({}, { __call = function(self, ...) return select("#", ...), ... end })
print(echo(1, nil, "x"))

-- A __call metamethod that is itself a callable table.
local inner = setmetatable({}, { __call = function(_, _, x) return x * 2 end })
local outer = setmetatable({}, { __call = inner })
print(pcall(outer, 21))

print(pcall(function() local t = {}; return t() end))
print(pcall(function() local n = 1; return n() end))
