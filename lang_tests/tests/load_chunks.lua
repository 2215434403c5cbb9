-- jit: compiled
-- Run-time:
--   stdout:
--     3
--     42
--     nil	[string "return +"]:1: unexpected symbol near '+'
--     nil	mychunk:1: unexpected symbol near <eof>
--     10	10	nil
--     pieces
--     false	loaded:1: in loaded chunk
--     true	nil	attempt to load a text chunk (mode is 'b')
--     acc	8228656
--     string	3

-- load: compiling chunks from strings (and from a reader function), custom environments,
-- syntax errors returned as values, chunk names in messages, and calling many loaded
-- functions in a hot loop.

local f = load("return 1 + 2")
print(f())
local g = load("local a, b = ...; return a * b")
print(g(6, 7))
print(load("return +"))
print(load("x =", "=mychunk"))
local env = { print = print, value = 5 }
local h = load("value = value * 2; return value", "envchunk", "t", env)
print(h(), env.value, value)

-- A reader function delivering the chunk in pieces.
local pieces = { "return ", "'pie", "ces'" }
local i = 0
print(load(function() i = i + 1; return pieces[i] end)())

local ok, err = pcall(load("error('in loaded chunk')", "=loaded"))
print(ok, err)
print(pcall(load, "return 1", "x", "b"))

-- Compile a small function per operator and apply it in a hot loop.
local ops = {}
for _, op in ipairs({ "+", "-", "*", "//", "%" }) do
  ops[#ops + 1] = load("local a, b = ...; return a " .. op .. " b")
end
local acc = 0
for k = 1, 3000 do
  acc = acc + ops[k % #ops + 1](k, 7)
end
print("acc", acc)
print(string.dump and type(string.dump(f)), load(string.dump(f))())
