-- Run-time:
--   exec-arg: first
--   exec-arg: second arg
--   exec-arg: 42
--   stdout:
--     arg[0]	script_args.lua	#arg	3
--     1	first
--     2	second arg
--     3	42
--     varargs	3	first	second arg	42
--     43	integer

-- The script's arguments: the global `arg` (script name at 0, arguments from 1) and the
-- main chunk's `...`.

print("arg[0]", arg[0], "#arg", #arg)
for i = 1, #arg do print(i, arg[i]) end
print("varargs", select("#", ...), ...)
local n = select(3, ...)
print(n + 1, math.type(tonumber(n)))
