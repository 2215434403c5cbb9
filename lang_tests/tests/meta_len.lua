-- jit: compiled
-- Run-time:
--   stdout:
--     42	3	3	4
--     length	200
--     popped sum	8775	left	150
--     many
--     virtual sum	11994
--     false	meta_len.lua:50: attempt to get length of a number value

-- __len: a table reporting its own length, a linked list whose # walks the list, # on
-- strings ignoring __len, rawlen bypassing it, and # in hot loop conditions.

local sized = setmetatable({ 1, 2, 3 }, { __len = function() return 42 end })
print(#sized, rawlen(sized), #"abc", rawlen("abcd"))

local List = {}
List.__index = List
List.__len = function(self)
  local n, node = 0, self.head
  while node do n = n + 1; node = node.next end
  return n
end
function List.new() return setmetatable({}, List) end
function List:push(v) self.head = { value = v, next = self.head } end
function List:pop()
  local h = self.head
  self.head = h.next
  return h.value
end
local l = List.new()
for i = 1, 200 do l:push(i) end
print("length", #l)
local popped = 0
while #l > 150 do popped = popped + l:pop() end
print("popped sum", popped, "left", #l)

-- A __len that returns a non-integer is passed through as is.
local odd = setmetatable({}, { __len = function() return "many" end })
print(#odd)

-- # with __len used as a loop bound in a hot loop.
local virt = setmetatable({}, {
  __len = function() return 3000 end,
  __index = function(_, i) return i % 9 end,
})
local s = 0
for i = 1, #virt do s = s + virt[i] end
print("virtual sum", s)
print(pcall(function() return #5 end))
