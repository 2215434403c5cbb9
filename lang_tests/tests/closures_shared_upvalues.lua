-- jit: compiled
-- Run-time:
--   stdout:
--     5	7
--     2001007
--     500500	500555	1001055
--     23416728348467685	2880067194370816120
--     balance	85	refused	476

-- Upvalues shared between closures (open while the enclosing function runs, closed after it
-- returns), upvalues of upvalues (nested closures), and a recursive local function.

local function pair()
  local v = 0
  local function set(x) v = x end
  local function get() return v end
  set(5)
  local before = get()
  v = 7 -- visible to both closures while open
  return set, get, before
end
local set, get, before = pair()
print(before, get())
for i = 1, 2000 do set(get() + i) end
print(get())

-- Three levels of nesting: the innermost closure updates the outermost local.
local function outer()
  local total = 0
  return function(n)
    return function()
      for i = 1, n do total = total + i end
      return total
    end
  end
end
local mk = outer()
local a, b = mk(1000), mk(10)
print(a(), b(), a())

local function fib_memo()
  local memo = {}
  local function fib(n)
    if n < 2 then return n end
    local m = memo[n]
    if m then return m end
    m = fib(n - 1) + fib(n - 2)
    memo[n] = m
    return m
  end
  return fib
end
local fib = fib_memo()
print(fib(80), fib(90))

-- Closures in a table acting as an object.
local function account(balance)
  local self = {}
  function self.deposit(x) balance = balance + x end
  function self.withdraw(x)
    if x > balance then return false end
    balance = balance - x
    return true
  end
  function self.balance() return balance end
  return self
end
local acct = account(100)
local refused = 0
for i = 1, 3000 do
  if i % 4 == 0 then
    if not acct.withdraw(i % 50 * 3) then refused = refused + 1 end
  else
    acct.deposit(i % 7)
  end
end
print("balance", acct.balance(), "refused", refused)
