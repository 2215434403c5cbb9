-- Run-time:
--   stdout:
--     1	false	true	true
--     2	false	true	true
--     3	false	true	true
--     50005000
--     false	true

-- Unbounded recursion ends in a "stack overflow" error that pcall catches; the program
-- goes on normally afterwards, with its state intact, and can overflow again.

local depth = 0
local function dive()
  depth = depth + 1
  return 1 + dive() -- not a tail call
end
for attempt = 1, 3 do
  depth = 0
  local ok, err = pcall(dive)
  print(attempt, ok, err:match("stack overflow") ~= nil, depth > 1000)
end

-- Afterwards, ordinary recursion still works.
local function sum(n) if n == 0 then return 0 end return n + sum(n - 1) end
print(sum(10000))

-- Overflow through a metamethod chain.
local t = setmetatable({}, {})
getmetatable(t).__index = function(tab, k) return tab[k] end
local ok, err = pcall(function() return t.x end)
print(ok, err:match("stack overflow") ~= nil)
