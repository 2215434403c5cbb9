-- jit: compiled
-- Run-time:
--   status: 1
--   stdout:
--     before the error
--     loop reached 777
--   stderr:
--     lua: error_uncaught.lua:25: value too large: 778
--     stack traceback:
--     	[C]: in function 'error'
--     	error_uncaught.lua:25: in local 'check'
--     	error_uncaught.lua:31: in main chunk
--     	[C]: in ?

-- An error that nobody catches, raised from a function called in a hot loop: the script
-- stops with exit status 1, what it printed before stays printed, and the interpreter
-- reports the message and a traceback on stderr (the same for lua and yklua).

print("before the error")

local last = 0
local function check(v)
  if v > 777 then
    io.write("loop reached ", last, "\n")
    error("value too large: " .. v)
  end
  last = v
end

for i = 1, 5000 do
  check(i)
end
print("not reached")
