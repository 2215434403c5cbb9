-- Run-time:
--   stdout:
--     sum of codes	500500
--     E(7)	7
--     false	42
--     false	nil
--     false	false
--     false	nil
--     2
--     true	orig
--     once

-- Error values that aren't strings: tables (with fields and a __tostring), numbers, nil,
-- booleans, and rethrowing an error object unchanged, in a loop.

local E = {}
E.__tostring = function(e) return "E(" .. e.code .. ")" end
local function fail(code) error(setmetatable({ code = code }, E)) end

local codes = 0
for i = 1, 1000 do
  local ok, e = pcall(fail, i)
  if not ok and getmetatable(e) == E then codes = codes + e.code end
end
print("sum of codes", codes)
local _, e = pcall(fail, 7)
print(tostring(e), e.code)

print(pcall(error, 42))
print(pcall(error, nil))
print(pcall(error, false))
print(pcall(error))
print(select("#", pcall(error)))

-- Rethrowing keeps the same object (no position is added to non-strings).
local original = { msg = "orig" }
local _, caught = pcall(function()
  local ok, err = pcall(error, original)
  error(err)
end)
print(caught == original, caught.msg)

-- A string error rethrown with level 0 isn't prefixed twice.
local _, twice = pcall(function()
  local _, err = pcall(error, "once")
  error(err, 0)
end)
print(twice)
