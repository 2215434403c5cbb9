-- jit: compiled
-- Run-time:
--   stdout:
--     "Hello World!"	runs agree	true	steps	270600
--     hello aulky!	77
--     7	314

-- An interpreter written in Lua: a Brainfuck machine with a precomputed jump table, running
-- a program that prints a message 300 times (so the dispatch loop runs a few hundred
-- thousand times), one that reverses its input and one that adds two digits.

local function run(prog, input)
  local code, jump, stack = {}, {}, {}
  for i = 1, #prog do
    local c = prog:sub(i, i)
    code[i] = c
    if c == "[" then stack[#stack + 1] = i
    elseif c == "]" then
      local open = table.remove(stack)
      jump[open], jump[i] = i, open
    end
  end
  local tape, ptr, pc, out, inpos = {}, 1, 1, {}, 1
  local steps = 0
  while pc <= #code do
    local c = code[pc]
    steps = steps + 1
    if c == "+" then tape[ptr] = ((tape[ptr] or 0) + 1) % 256
    elseif c == "-" then tape[ptr] = ((tape[ptr] or 0) - 1) % 256
    elseif c == ">" then ptr = ptr + 1
    elseif c == "<" then ptr = ptr - 1
    elseif c == "." then out[#out + 1] = string.char(tape[ptr] or 0)
    elseif c == "," then
      tape[ptr] = input:byte(inpos) or 0
      inpos = inpos + 1
    elseif c == "[" then
      if (tape[ptr] or 0) == 0 then pc = jump[pc] end
    elseif c == "]" then
      if (tape[ptr] or 0) ~= 0 then pc = jump[pc] end
    end
    pc = pc + 1
  end
  return table.concat(out), steps
end

local hello = "++++++++[>++++[>++>+++>+++>+<<<<-]>+>+>->>+[<]<-]>>.>---.+++++++..+++.>>.<-.<.+++.------.--------.>>+."
local outs, total_steps, same = {}, 0, true
for i = 1, 300 do
  local out, steps = run(hello, "")
  if i > 1 and out ~= outs[1] then same = false end
  outs[i] = out
  total_steps = total_steps + steps
end
print(("%q"):format(outs[1]), "runs agree", same, "steps", total_steps)

-- Reverse the input.
local rev = ">,[>,]<[.<]"
print(run(rev, "!yklua olleh"))

-- Add two single-digit numbers given as characters.
local add = ",>,[<+>-]<------------------------------------------------."
print(run(add, "34"))
