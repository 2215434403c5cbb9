-- jit: compiled
-- Run-time:
--   stdout:
--     body b a
--     loop1 loop2
--     returned	x
--     false	boom	y err=boom
--     false	meta_close.lua:50: variable 'z' got a non-closable value
--     nil	[string "local k <const> = 1; k = 2"]:1: attempt to assign to const variable 'k'
--     opened	2000	closed	2000

-- To-be-closed variables (`local x <close>`): closed in reverse order at the end of the
-- block, on `break`, on `return`, and on errors (with the error passed to __close); `nil` and
-- `false` are allowed; a value without __close is an error; and closing in a hot loop.

local log = {}
local function res(name)
  return setmetatable({ name = name }, { __close = function(self, err)
    log[#log + 1] = self.name .. (err and (" err=" .. tostring(err)) or "")
  end })
end

do
  local a <close> = res("a")
  local b <close> = res("b")
  local c <close> = nil
  local d <close> = false
  log[#log + 1] = "body"
end
print(table.concat(log, " ")); log = {}

for i = 1, 3 do
  local r <close> = res("loop" .. i)
  if i == 2 then break end
end
print(table.concat(log, " ")); log = {}

local function f()
  local x <close> = res("x")
  return "returned"
end
print(f(), table.concat(log, " ")); log = {}

local ok, err = pcall(function()
  local y <close> = res("y")
  error("boom", 0)
end)
print(ok, err, table.concat(log, " ")); log = {}

print(pcall(function() local z <close> = {} end))

-- A const local can't be assigned (a compile-time error from load).
print(load("local k <const> = 1; k = 2"))

-- Closing in a hot loop: every iteration closes its resource exactly once.
local opened, closed = 0, 0
local mt = { __close = function() closed = closed + 1 end }
for i = 1, 2000 do
  local h <close> = setmetatable({}, mt)
  opened = opened + 1
  if i % 100 == 0 then goto continue end
  ::continue::
end
print("opened", opened, "closed", closed)
