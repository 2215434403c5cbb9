-- An interpreter for a small dynamically typed language ("Mini"), written the way such
-- interpreters are usually written in Lua: a Lexer class scanning with string.byte and
-- string.find, a recursive-descent Parser with precedence climbing producing AST tables, a
-- Printer that turns an AST back into source text, and a tree-walking Interpreter with
-- environments chained through parent links, first-class closures, lists and strings.
--
-- Each iteration generates a Mini program (a fixed library of functions: recursion, higher-
-- order functions, closures with shared mutable state, a sieve, string building; plus `size`
-- generated arithmetic functions), parses it, checks that printing and re-parsing the AST
-- gives the same text, and runs it with N = size. The program's results are checked against
-- the same computations done directly in Lua. The checksum is the program's result string.

local byte, sub, find, format = string.byte, string.sub, string.find, string.format
local concat = table.concat
local floor = math.floor

local function class()
  local c = {}
  c.__index = c
  return c
end

-- Lexer ----------------------------------------------------------------------------------

local KEYWORDS = {}
for _, k in ipairs({"fun", "let", "if", "then", "elif", "else", "end", "while", "do",
                    "return", "and", "or", "not", "true", "false", "nil"}) do
  KEYWORDS[k] = true
end

-- Two-character operators, then one-character ones.
local OPS2 = {["=="] = true, ["!="] = true, ["<="] = true, [">="] = true, [".."] = true}
local OPS1 = {}
for c in ("+-*/%<>=()[],;"):gmatch(".") do
  OPS1[c] = true
end

local Lexer = class()

function Lexer.new(src)
  return setmetatable({src = src, pos = 1, line = 1}, Lexer)
end

-- Returns the list of tokens: {kind, text, line} with kind one of "num", "str", "name",
-- "kw", "op", "eof".
function Lexer:tokens()
  local src, toks = self.src, {}
  while true do
    local s, e = find(src, "^[ \t\r]+", self.pos)
    if s then
      self.pos = e + 1
    end
    local c = byte(src, self.pos)
    if c == nil then
      toks[#toks + 1] = {kind = "eof", text = "<eof>", line = self.line}
      return toks
    elseif c == 10 then
      self.line = self.line + 1
      self.pos = self.pos + 1
    elseif c == 35 then -- '#' comment to the end of the line
      local nl = find(src, "\n", self.pos, true)
      self.pos = nl or #src + 1
    else
      local tok = self:token(c)
      tok.line = self.line
      toks[#toks + 1] = tok
    end
  end
end

function Lexer:token(c)
  local src, pos = self.src, self.pos
  if c >= 48 and c <= 57 then
    local s, e = find(src, "^%d+%.?%d*", pos)
    self.pos = e + 1
    return {kind = "num", text = sub(src, s, e)}
  elseif c == 95 or (c >= 97 and c <= 122) or (c >= 65 and c <= 90) then
    local s, e = find(src, "^[%a_][%w_]*", pos)
    self.pos = e + 1
    local word = sub(src, s, e)
    return {kind = KEYWORDS[word] and "kw" or "name", text = word}
  elseif c == 34 then
    local e = find(src, '"', pos + 1, true)
    if not e then
      error(format("line %d: unterminated string", self.line))
    end
    self.pos = e + 1
    return {kind = "str", text = sub(src, pos + 1, e - 1)}
  end
  local two = sub(src, pos, pos + 1)
  if OPS2[two] then
    self.pos = pos + 2
    return {kind = "op", text = two}
  end
  local one = sub(src, pos, pos)
  if OPS1[one] then
    self.pos = pos + 1
    return {kind = "op", text = one}
  end
  error(format("line %d: unexpected character %q", self.line, one))
end

-- Parser ---------------------------------------------------------------------------------

-- Binary operators: precedence (higher binds tighter) and right associativity.
local BINARY = {
  ["or"] = {1}, ["and"] = {2},
  ["=="] = {3}, ["!="] = {3}, ["<"] = {3}, ["<="] = {3}, [">"] = {3}, [">="] = {3},
  [".."] = {4, true},
  ["+"] = {5}, ["-"] = {5},
  ["*"] = {6}, ["/"] = {6}, ["%"] = {6},
}
local UNARY_PRECEDENCE = 7

local Parser = class()

function Parser.new(tokens)
  return setmetatable({toks = tokens, i = 1}, Parser)
end

function Parser:peek()
  return self.toks[self.i]
end

function Parser:next()
  local t = self.toks[self.i]
  self.i = self.i + 1
  return t
end

function Parser:check(text)
  local t = self.toks[self.i]
  return (t.kind == "op" or t.kind == "kw") and t.text == text
end

function Parser:accept(text)
  if self:check(text) then
    self.i = self.i + 1
    return true
  end
  return false
end

function Parser:expect(text)
  if not self:accept(text) then
    local t = self:peek()
    error(format("line %d: expected %s near %s", t.line, text, t.text))
  end
end

function Parser:name()
  local t = self:next()
  if t.kind ~= "name" then
    error(format("line %d: expected a name near %s", t.line, t.text))
  end
  return t.text
end

function Parser:program()
  local body = self:block()
  if self:peek().kind ~= "eof" then
    error(format("line %d: unexpected %s", self:peek().line, self:peek().text))
  end
  return {tag = "Block", body = body}
end

local BLOCK_END = {["end"] = true, ["else"] = true, ["elif"] = true}

function Parser:block()
  local stmts = {}
  while true do
    while self:accept(";") do
    end
    local t = self:peek()
    if t.kind == "eof" or (t.kind == "kw" and BLOCK_END[t.text]) then
      return stmts
    end
    stmts[#stmts + 1] = self:statement()
    self:accept(";")
  end
end

function Parser:params()
  self:expect("(")
  local params = {}
  if not self:accept(")") then
    repeat
      params[#params + 1] = self:name()
    until not self:accept(",")
    self:expect(")")
  end
  return params
end

function Parser:statement()
  if self:accept("let") then
    local name = self:name()
    self:expect("=")
    return {tag = "Let", name = name, value = self:expr(0)}
  elseif self:accept("fun") then
    -- `fun f(...) ... end` declares f in the current scope, visible to its own body.
    local name = self:name()
    local params = self:params()
    local body = self:block()
    self:expect("end")
    return {tag = "FunDecl", name = name, params = params, body = body}
  elseif self:accept("return") then
    return {tag = "Return", value = self:expr(0)}
  elseif self:accept("while") then
    local cond = self:expr(0)
    self:expect("do")
    local body = self:block()
    self:expect("end")
    return {tag = "While", cond = cond, body = body}
  elseif self:accept("if") then
    local arms = {}
    repeat
      local cond = self:expr(0)
      self:expect("then")
      arms[#arms + 1] = {cond = cond, body = self:block()}
    until not self:accept("elif")
    local else_body
    if self:accept("else") then
      else_body = self:block()
    end
    self:expect("end")
    return {tag = "If", arms = arms, else_body = else_body}
  end
  local e = self:expr(0)
  if self:accept("=") then
    if e.tag ~= "Var" and e.tag ~= "Index" then
      error(format("line %d: cannot assign to this", self:peek().line))
    end
    return {tag = "Assign", target = e, value = self:expr(0)}
  end
  return {tag = "ExprStmt", expr = e}
end

-- Precedence climbing: parse operators binding tighter than `min`.
function Parser:expr(min)
  local left
  if self:accept("-") then
    left = {tag = "Unop", op = "-", operand = self:expr(UNARY_PRECEDENCE)}
  elseif self:accept("not") then
    left = {tag = "Unop", op = "not", operand = self:expr(UNARY_PRECEDENCE)}
  else
    left = self:postfix(self:primary())
  end
  while true do
    local t = self:peek()
    local info = (t.kind == "op" or t.kind == "kw") and BINARY[t.text]
    if not info or info[1] <= min then
      return left
    end
    self.i = self.i + 1
    local right = self:expr(info[2] and info[1] - 1 or info[1])
    left = {tag = "Binop", op = t.text, left = left, right = right}
  end
end

function Parser:primary()
  local t = self:next()
  if t.kind == "num" then
    return {tag = "Num", value = tonumber(t.text), text = t.text}
  elseif t.kind == "str" then
    return {tag = "Str", value = t.text}
  elseif t.kind == "name" then
    return {tag = "Var", name = t.text}
  elseif t.kind == "kw" then
    if t.text == "true" or t.text == "false" then
      return {tag = "Bool", value = t.text == "true"}
    elseif t.text == "nil" then
      return {tag = "Nil"}
    elseif t.text == "fun" then
      local params = self:params()
      local body = self:block()
      self:expect("end")
      return {tag = "Fun", params = params, body = body}
    end
  elseif t.text == "(" then
    local e = self:expr(0)
    self:expect(")")
    return {tag = "Paren", expr = e}
  elseif t.text == "[" then
    local items = {}
    if not self:accept("]") then
      repeat
        items[#items + 1] = self:expr(0)
      until not self:accept(",")
      self:expect("]")
    end
    return {tag = "List", items = items}
  end
  error(format("line %d: unexpected %s", t.line, t.text))
end

function Parser:postfix(e)
  while true do
    if self:accept("(") then
      local args = {}
      if not self:accept(")") then
        repeat
          args[#args + 1] = self:expr(0)
        until not self:accept(",")
        self:expect(")")
      end
      e = {tag = "Call", fn = e, args = args}
    elseif self:accept("[") then
      local index = self:expr(0)
      self:expect("]")
      e = {tag = "Index", obj = e, index = index}
    else
      return e
    end
  end
end

local function parse(src)
  return Parser.new(Lexer.new(src):tokens()):program()
end

-- Printer: AST back to source, one statement a line --------------------------------------

local Printer = class()

function Printer.new()
  return setmetatable({out = {}, depth = 0}, Printer)
end

function Printer:line(s)
  self.out[#self.out + 1] = string.rep("  ", self.depth) .. s
end

function Printer:list(nodes)
  local parts = {}
  for i, n in ipairs(nodes) do
    parts[i] = self:expr(n)
  end
  return concat(parts, ", ")
end

function Printer:expr(e)
  local tag = e.tag
  if tag == "Num" then
    return e.text
  elseif tag == "Str" then
    return '"' .. e.value .. '"'
  elseif tag == "Var" then
    return e.name
  elseif tag == "Bool" then
    return e.value and "true" or "false"
  elseif tag == "Nil" then
    return "nil"
  elseif tag == "Paren" then
    return "(" .. self:expr(e.expr) .. ")"
  elseif tag == "List" then
    return "[" .. self:list(e.items) .. "]"
  elseif tag == "Unop" then
    return e.op == "not" and "not " .. self:expr(e.operand) or "-" .. self:expr(e.operand)
  elseif tag == "Binop" then
    return self:expr(e.left) .. " " .. e.op .. " " .. self:expr(e.right)
  elseif tag == "Call" then
    return self:expr(e.fn) .. "(" .. self:list(e.args) .. ")"
  elseif tag == "Index" then
    return self:expr(e.obj) .. "[" .. self:expr(e.index) .. "]"
  elseif tag == "Fun" then
    local inner = Printer.new()
    inner:block(e.body)
    return "fun(" .. concat(e.params, ", ") .. ") " .. concat(inner.out, "; ") .. " end"
  end
  error("cannot print " .. tostring(tag))
end

function Printer:block(stmts)
  for _, s in ipairs(stmts) do
    self:stmt(s)
  end
end

function Printer:stmt(s)
  local tag = s.tag
  if tag == "Let" then
    self:line("let " .. s.name .. " = " .. self:expr(s.value))
  elseif tag == "Assign" then
    self:line(self:expr(s.target) .. " = " .. self:expr(s.value))
  elseif tag == "Return" then
    self:line("return " .. self:expr(s.value))
  elseif tag == "ExprStmt" then
    self:line(self:expr(s.expr))
  elseif tag == "FunDecl" or tag == "While" then
    if tag == "FunDecl" then
      self:line("fun " .. s.name .. "(" .. concat(s.params, ", ") .. ")")
    else
      self:line("while " .. self:expr(s.cond) .. " do")
    end
    self.depth = self.depth + 1
    self:block(s.body)
    self.depth = self.depth - 1
    self:line("end")
  elseif tag == "If" then
    for i, arm in ipairs(s.arms) do
      self:line((i == 1 and "if " or "elif ") .. self:expr(arm.cond) .. " then")
      self.depth = self.depth + 1
      self:block(arm.body)
      self.depth = self.depth - 1
    end
    if s.else_body then
      self:line("else")
      self.depth = self.depth + 1
      self:block(s.else_body)
      self.depth = self.depth - 1
    end
    self:line("end")
  else
    error("cannot print " .. tostring(tag))
  end
end

local function unparse(ast)
  local p = Printer.new()
  p:block(ast.body)
  return concat(p.out, "\n") .. "\n"
end

-- Interpreter ----------------------------------------------------------------------------

local Env = class()

function Env.new(parent)
  return setmetatable({vars = {}, parent = parent}, Env)
end

function Env:define(name, value)
  self.vars[name] = value
end

-- The environment that binds `name`, or nil.
function Env:find(name)
  local env = self
  repeat
    if env.vars[name] ~= nil then
      return env
    end
    env = env.parent
  until env == nil
  return nil
end

function Env:lookup(name)
  local env = self:find(name)
  if env == nil then
    error("undefined variable " .. name)
  end
  return env.vars[name]
end

function Env:assign(name, value)
  local env = self:find(name)
  if env == nil then
    error("assignment to undefined variable " .. name)
  end
  env.vars[name] = value
end

-- Mini's nil is a unique value so that a variable bound to it is still bound.
local NIL = setmetatable({}, {__tostring = function() return "nil" end})

local Closure = class()

function Closure.new(params, body, env, name)
  return setmetatable({params = params, body = body, env = env, name = name}, Closure)
end

local Interpreter = class()

local unpack = table.unpack or unpack

local function unpack_args(args)
  return unpack(args, 1, #args)
end

function Interpreter.new(globals)
  local it = setmetatable({globals = Env.new(nil), calls = 0}, Interpreter)
  for k, v in pairs(globals) do
    it.globals:define(k, v)
  end
  return it
end

local function truthy(v)
  return v ~= false and v ~= NIL
end

local function show(v)
  if type(v) == "number" then
    if v == floor(v) then
      return format("%d", v)
    end
    return format("%.6f", v)
  elseif type(v) == "table" and getmetatable(v) == nil then
    local parts = {}
    for i, x in ipairs(v) do
      parts[i] = show(x)
    end
    return "[" .. concat(parts, ", ") .. "]"
  elseif getmetatable(v) == Closure then
    return "<fun " .. (v.name or "anonymous") .. ">"
  end
  return tostring(v)
end

local ARITH = {
  ["+"] = function(a, b) return a + b end,
  ["-"] = function(a, b) return a - b end,
  ["*"] = function(a, b) return a * b end,
  ["/"] = function(a, b) return a / b end,
  ["%"] = function(a, b) return a % b end,
  ["<"] = function(a, b) return a < b end,
  ["<="] = function(a, b) return a <= b end,
  [">"] = function(a, b) return a > b end,
  [">="] = function(a, b) return a >= b end,
  ["=="] = function(a, b) return a == b end,
  ["!="] = function(a, b) return a ~= b end,
  [".."] = function(a, b) return show(a) .. show(b) end,
}

-- Evaluate an expression: one method per AST tag.
local EVAL = {}

function Interpreter:eval(e, env)
  return EVAL[e.tag](self, e, env)
end

EVAL.Num = function(_, e) return e.value end
EVAL.Str = function(_, e) return e.value end
EVAL.Bool = function(_, e) return e.value end
EVAL.Nil = function() return NIL end
EVAL.Var = function(_, e, env) return env:lookup(e.name) end
EVAL.Paren = function(self, e, env) return self:eval(e.expr, env) end
EVAL.Fun = function(_, e, env) return Closure.new(e.params, e.body, env, nil) end

EVAL.List = function(self, e, env)
  local list = {}
  for i, item in ipairs(e.items) do
    list[i] = self:eval(item, env)
  end
  return list
end

EVAL.Unop = function(self, e, env)
  local v = self:eval(e.operand, env)
  if e.op == "-" then
    return -v
  end
  return not truthy(v)
end

EVAL.Binop = function(self, e, env)
  local op = e.op
  if op == "and" then
    local l = self:eval(e.left, env)
    if not truthy(l) then
      return l
    end
    return self:eval(e.right, env)
  elseif op == "or" then
    local l = self:eval(e.left, env)
    if truthy(l) then
      return l
    end
    return self:eval(e.right, env)
  end
  return ARITH[op](self:eval(e.left, env), self:eval(e.right, env))
end

EVAL.Index = function(self, e, env)
  local obj = self:eval(e.obj, env)
  local i = self:eval(e.index, env)
  local v = obj[i + 1]
  if v == nil then
    error("index " .. show(i) .. " out of range")
  end
  return v
end

EVAL.Call = function(self, e, env)
  local fn = self:eval(e.fn, env)
  local args = {}
  for i, a in ipairs(e.args) do
    args[i] = self:eval(a, env)
  end
  return self:call(fn, args)
end

function Interpreter:call(fn, args)
  if type(fn) == "function" then
    return fn(unpack_args(args))
  end
  if getmetatable(fn) ~= Closure then
    error("call of a non-function " .. show(fn))
  end
  if #args ~= #fn.params then
    error(format("%s expects %d arguments, got %d", show(fn), #fn.params, #args))
  end
  self.calls = self.calls + 1
  local frame = Env.new(fn.env)
  for i, p in ipairs(fn.params) do
    frame:define(p, args[i])
  end
  local returned, value = self:exec_block(fn.body, frame)
  if returned then
    return value
  end
  return NIL
end

-- Execute statements; returns true and a value when a `return` ran.
function Interpreter:exec_block(stmts, env)
  for i = 1, #stmts do
    local returned, value = self:exec(stmts[i], env)
    if returned then
      return true, value
    end
  end
  return false
end

function Interpreter:exec(s, env)
  local tag = s.tag
  if tag == "ExprStmt" then
    self:eval(s.expr, env)
  elseif tag == "Assign" then
    local target = s.target
    if target.tag == "Var" then
      env:assign(target.name, self:eval(s.value, env))
    else
      local obj = self:eval(target.obj, env)
      obj[self:eval(target.index, env) + 1] = self:eval(s.value, env)
    end
  elseif tag == "Let" then
    env:define(s.name, self:eval(s.value, env))
  elseif tag == "Return" then
    return true, self:eval(s.value, env)
  elseif tag == "If" then
    for _, arm in ipairs(s.arms) do
      if truthy(self:eval(arm.cond, env)) then
        return self:exec_block(arm.body, Env.new(env))
      end
    end
    if s.else_body then
      return self:exec_block(s.else_body, Env.new(env))
    end
  elseif tag == "While" then
    while truthy(self:eval(s.cond, env)) do
      local returned, value = self:exec_block(s.body, Env.new(env))
      if returned then
        return true, value
      end
    end
  elseif tag == "FunDecl" then
    env:define(s.name, Closure.new(s.params, s.body, env, s.name))
  else
    error("unknown statement " .. tostring(tag))
  end
  return false
end

local BUILTINS = {
  len = function(list) return #list end,
  push = function(list, v) list[#list + 1] = v; return NIL end,
  str = function(v) return show(v) end,
  floor = function(x) return floor(x) end,
}

-- The Mini program -----------------------------------------------------------------------

local LIBRARY = [[
# Recursion.
fun fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

# Closures sharing mutable state.
fun make_counter(step)
  let count = 0
  let inc = fun() count = count + step; return count end
  let get = fun() return count end
  return [inc, get]
end

# Higher-order functions over lists.
fun range(lo, hi)
  let out = []
  let i = lo
  while i < hi do push(out, i); i = i + 1 end
  return out
end
fun map(f, xs)
  let out = []
  let i = 0
  while i < len(xs) do push(out, f(xs[i])); i = i + 1 end
  return out
end
fun fold(f, acc, xs)
  let i = 0
  while i < len(xs) do acc = f(acc, xs[i]); i = i + 1 end
  return acc
end
fun filter(p, xs)
  return fold(fun(acc, x) if p(x) then push(acc, x) end return acc end, [], xs)
end
fun join(xs, sep)
  let s = ""
  let i = 0
  while i < len(xs) do
    if i > 0 then s = s .. sep end
    s = s .. str(xs[i])
    i = i + 1
  end
  return s
end

# The primes below n, with a sieve in a list.
fun primes(n)
  let marks = map(fun(x) return true end, range(0, n))
  let found = []
  let i = 2
  while i < n do
    if marks[i] then
      push(found, i)
      let j = i * i
      while j < n do marks[j] = false; j = j + i end
    end
    i = i + 1
  end
  return found
end

fun classify(x)
  if x % 15 == 0 then return "fizzbuzz"
  elif x % 5 == 0 then return "buzz"
  elif x % 3 == 0 then return "fizz"
  else return x
  end
end
]]

-- `n` generated functions g1..gn, each a different arithmetic expression of its argument,
-- and a driver that sums them all over 0..N-1.
local function generated(n)
  local lines = {}
  for k = 1, n do
    lines[#lines + 1] = format("fun g%d(x) let y = (x * %d + %d) %% %d\n" ..
                               "  if y > %d and not (x == %d) then return y - %d\n" ..
                               "  else return -(y + %d) %% 7 end\nend",
                               k, k % 9 + 1, k, k % 13 + 5, k % 4, k % 10, k % 6, k)
  end
  local calls = {}
  for k = 1, n do
    calls[#calls + 1] = format("g%d(i)", k)
  end
  lines[#lines + 1] = "fun all_generated(n)\n  let total = 0\n  let i = 0\n" ..
    "  while i < n do total = total + " .. concat(calls, " + ") .. "; i = i + 1 end\n" ..
    "  return total\nend"
  return concat(lines, "\n")
end

local MAIN = [[
let c = make_counter(3)
let i = 0
while i < N do c[0](); i = i + 1 end
let squares = map(fun(x) return x * x end, range(0, 40))
let odd = filter(fun(x) return x % 2 == 1 end, squares)
let ps = primes(N * 4)
let fizz = join(map(classify, range(1, 16)), " ")
let result = [fib(FIB), c[1](), fold(fun(a, b) return a + b end, 0, odd), len(ps),
              ps[len(ps) - 1], all_generated(N), fizz]
]]

-- Direct Lua versions of some of the program's results, to check the interpreter.
local function lua_fib(n)
  if n < 2 then
    return n
  end
  return lua_fib(n - 1) + lua_fib(n - 2)
end

local function lua_primes(n)
  local marks, count, last = {}, 0, nil
  for i = 2, n - 1 do
    if not marks[i] then
      count, last = count + 1, i
      for j = i * i, n - 1, i do
        marks[j] = true
      end
    end
  end
  return count, last
end

function bench(size)
  local src = LIBRARY .. generated(20) .. "\n" .. MAIN
  local ast = parse(src)
  local printed = unparse(ast)
  assert(unparse(parse(printed)) == printed, "printing and re-parsing changed the program")
  local globals = {N = size, FIB = 12}
  for k, v in pairs(BUILTINS) do
    globals[k] = v
  end
  local it = Interpreter.new(globals)
  it:exec_block(ast.body, it.globals)
  local result = it.globals:lookup("result")
  assert(result[1] == lua_fib(12), "fib")
  assert(result[2] == 3 * size, "counter")
  local count, last = lua_primes(size * 4)
  assert(result[4] == count and result[5] == last, "primes")
  assert(result[7] == "1 2 fizz 4 buzz fizz 7 8 fizz buzz 11 fizz 13 14 fizzbuzz", "fizzbuzz")
  return show(result) .. " " .. it.calls .. " " .. #printed
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
