-- A small interpreter written in Lua: a stack-based bytecode VM with a dispatch loop over an
-- instruction array, running a program that computes a sum of the Collatz step counts of
-- 1..size. This is the shape of code a meta-tracer is built for: an interpreter loop whose
-- hot paths depend on the interpreted program.

-- Opcodes.
local PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, DIV2, LT, EQ, JMP, JZ, HALT =
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13

-- An assembler from a readable listing with labels to a flat array of (op, arg) pairs.
local function assemble(listing)
  local code, labels, fixups = {}, {}, {}
  for _, ins in ipairs(listing) do
    if ins.label then
      labels[ins.label] = #code + 1
    else
      code[#code + 1] = ins[1]
      local a = ins[2] or 0
      if type(a) == "string" then
        fixups[#code + 1] = a
      end
      code[#code + 1] = a
    end
  end
  for pos, label in pairs(fixups) do
    code[pos] = assert(labels[label], "undefined label " .. label)
  end
  return code
end

-- Variables: 1 = n (limit), 2 = i, 3 = x, 4 = steps (total).
local program = assemble({
  {PUSH, 1}, {STORE, 2},
  {PUSH, 0}, {STORE, 4},
  {label = "outer"},
  {LOAD, 1}, {LOAD, 2}, {LT}, {JZ, "body"}, {JMP, "done"},
  {label = "body"},
  {LOAD, 2}, {STORE, 3},
  {label = "inner"},
  {LOAD, 3}, {PUSH, 1}, {EQ}, {JZ, "step"}, {JMP, "next"},
  {label = "step"},
  {LOAD, 4}, {PUSH, 1}, {ADD}, {STORE, 4},
  {LOAD, 3}, {PUSH, 2}, {MOD}, {JZ, "even"},
  {LOAD, 3}, {PUSH, 3}, {MUL}, {PUSH, 1}, {ADD}, {STORE, 3}, {JMP, "inner"},
  {label = "even"},
  {LOAD, 3}, {DIV2}, {STORE, 3}, {JMP, "inner"},
  {label = "next"},
  {LOAD, 2}, {PUSH, 1}, {ADD}, {STORE, 2}, {JMP, "outer"},
  {label = "done"},
  {LOAD, 4}, {HALT},
})

local function run(code, vars)
  local stack, sp, pc = {}, 0, 1
  while true do
    local op, a = code[pc], code[pc + 1]
    pc = pc + 2
    if op == PUSH then
      sp = sp + 1; stack[sp] = a
    elseif op == LOAD then
      sp = sp + 1; stack[sp] = vars[a]
    elseif op == STORE then
      vars[a] = stack[sp]; sp = sp - 1
    elseif op == ADD then
      stack[sp - 1] = stack[sp - 1] + stack[sp]; sp = sp - 1
    elseif op == SUB then
      stack[sp - 1] = stack[sp - 1] - stack[sp]; sp = sp - 1
    elseif op == MUL then
      stack[sp - 1] = stack[sp - 1] * stack[sp]; sp = sp - 1
    elseif op == MOD then
      stack[sp - 1] = stack[sp - 1] % stack[sp]; sp = sp - 1
    elseif op == DIV2 then
      local v = stack[sp]
      stack[sp] = (v - v % 2) / 2
    elseif op == LT then
      stack[sp - 1] = (stack[sp - 1] < stack[sp]) and 1 or 0; sp = sp - 1
    elseif op == EQ then
      stack[sp - 1] = (stack[sp - 1] == stack[sp]) and 1 or 0; sp = sp - 1
    elseif op == JMP then
      pc = a
    elseif op == JZ then
      local v = stack[sp]; sp = sp - 1
      if v == 0 then
        pc = a
      end
    elseif op == HALT then
      return stack[sp]
    else
      error("bad opcode " .. tostring(op) .. " at " .. (pc - 2))
    end
  end
end

local function bench(size)
  return run(program, {size, 0, 0, 0})
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
