-- An incremental dataflow constraint solver in the style of DeltaBlue (Freeman-Benson,
-- Maloney and Borning, "An Incremental Constraint Hierarchy Solver", CACM 1990), written as
-- class-based Lua: strengths, variables, a hierarchy of constraint classes (unary stay and
-- edit constraints, binary equality and scale constraints) built with metatables and
-- inheritance, and a planner that incrementally adds and removes constraints and extracts
-- execution plans. Each iteration runs two workloads, as the classic benchmark does:
--
--   * a chain: size+1 variables linked by required equalities, a stay on the last and an
--     edit on the first; the plan is run for 100 input values and the last variable must
--     follow the first;
--   * a projection: size pairs (src, dst) with dst = src * scale + offset, a stay on every
--     src; editing a src, a dst, the scale and the offset must propagate the right way.
--
-- Every propagated value is checked with an assertion. The checksum combines the values,
-- plan lengths and the planner's mark counter, which depends on every incremental step.

-- Classes -------------------------------------------------------------------------------

-- A class is a table used as the metatable of its instances; `class(parent)` makes a
-- subclass whose missing methods are looked up in the parent class.
local function class(parent)
  local c = {}
  c.__index = c
  if parent then
    setmetatable(c, {__index = parent})
  end
  c.super = parent
  return c
end

-- Strengths -----------------------------------------------------------------------------

local Strength = class()

function Strength.new(value, name)
  return setmetatable({value = value, name = name}, Strength)
end

-- A lower value is a stronger strength: REQUIRED is 0.
function Strength.stronger(s1, s2)
  return s1.value < s2.value
end

function Strength.weaker(s1, s2)
  return s1.value > s2.value
end

function Strength.weakest(s1, s2)
  if Strength.weaker(s1, s2) then
    return s1
  end
  return s2
end

function Strength:__tostring()
  return "Strength(" .. self.name .. ")"
end

local REQUIRED = Strength.new(0, "required")
local STRONG_PREFERRED = Strength.new(1, "strongPreferred")
local PREFERRED = Strength.new(2, "preferred")
local STRONG_DEFAULT = Strength.new(3, "strongDefault")
local NORMAL = Strength.new(4, "normal")
local WEAK_DEFAULT = Strength.new(5, "weakDefault")
local WEAKEST = Strength.new(6, "weakest")

-- In increasing weakness, for re-satisfying removed constraints strongest first.
local ALL_STRENGTHS = {REQUIRED, STRONG_PREFERRED, PREFERRED, STRONG_DEFAULT, NORMAL,
                       WEAK_DEFAULT, WEAKEST}

-- Directions of a binary constraint.
local NONE, FORWARD, BACKWARD = 0, 1, 2

-- Variables -----------------------------------------------------------------------------

local Variable = class()

function Variable.new(name, value)
  return setmetatable({
    name = name,
    value = value,
    constraints = {},
    determined_by = nil,
    mark = 0,
    walk_strength = WEAKEST,
    stay = true,
  }, Variable)
end

function Variable:add_constraint(c)
  local cs = self.constraints
  cs[#cs + 1] = c
end

function Variable:remove_constraint(c)
  local cs = self.constraints
  for i = #cs, 1, -1 do
    if cs[i] == c then
      table.remove(cs, i)
    end
  end
  if self.determined_by == c then
    self.determined_by = nil
  end
end

-- Plans ---------------------------------------------------------------------------------

local Plan = class()

function Plan.new()
  return setmetatable({constraints = {}}, Plan)
end

function Plan:add(c)
  local cs = self.constraints
  cs[#cs + 1] = c
end

function Plan:size()
  return #self.constraints
end

function Plan:execute()
  local cs = self.constraints
  for i = 1, #cs do
    cs[i]:execute()
  end
end

-- Constraints ---------------------------------------------------------------------------

-- The abstract constraint: subclasses provide add_to_graph, remove_from_graph,
-- choose_method, is_satisfied, mark_inputs, output, recalculate, mark_unsatisfied,
-- inputs_known and execute.
local Constraint = class()

function Constraint:init(planner, strength)
  self.planner = planner
  self.strength = strength
end

function Constraint:add_constraint()
  self:add_to_graph()
  self.planner:incremental_add(self)
end

-- Try to satisfy this constraint with the given mark; returns the constraint it overrode,
-- if any, which the caller must then try to re-satisfy.
function Constraint:satisfy(mark)
  self:choose_method(mark)
  if not self:is_satisfied() then
    if self.strength == REQUIRED then
      error("could not satisfy a required constraint")
    end
    return nil
  end
  self:mark_inputs(mark)
  local out = self:output()
  local overridden = out.determined_by
  if overridden then
    overridden:mark_unsatisfied()
  end
  out.determined_by = self
  if not self.planner:add_propagate(self, mark) then
    error("cycle encountered while adding a constraint")
  end
  out.mark = mark
  return overridden
end

function Constraint:destroy_constraint()
  if self:is_satisfied() then
    self.planner:incremental_remove(self)
  end
  self:remove_from_graph()
end

function Constraint:is_input()
  return false
end

-- Unary constraints: one output variable.

local UnaryConstraint = class(Constraint)

function UnaryConstraint:init(planner, v, strength)
  Constraint.init(self, planner, strength)
  self.my_output = v
  self.satisfied = false
  self:add_constraint()
end

function UnaryConstraint:add_to_graph()
  self.my_output:add_constraint(self)
  self.satisfied = false
end

function UnaryConstraint:choose_method(mark)
  local out = self.my_output
  self.satisfied = out.mark ~= mark and Strength.stronger(self.strength, out.walk_strength)
end

function UnaryConstraint:is_satisfied()
  return self.satisfied
end

function UnaryConstraint:mark_inputs(mark)
end

function UnaryConstraint:output()
  return self.my_output
end

function UnaryConstraint:recalculate()
  local out = self.my_output
  out.walk_strength = self.strength
  out.stay = not self:is_input()
  if out.stay then
    self:execute()
  end
end

function UnaryConstraint:mark_unsatisfied()
  self.satisfied = false
end

function UnaryConstraint:inputs_known(mark)
  return true
end

function UnaryConstraint:remove_from_graph()
  if self.my_output then
    self.my_output:remove_constraint(self)
  end
  self.satisfied = false
end

-- A stay constraint keeps its variable's value; an edit constraint marks its variable as an
-- input the user changes. Neither computes anything when executed.

local StayConstraint = class(UnaryConstraint)

function StayConstraint.new(planner, v, strength)
  local c = setmetatable({}, StayConstraint)
  c:init(planner, v, strength)
  return c
end

function StayConstraint:execute()
end

local EditConstraint = class(UnaryConstraint)

function EditConstraint.new(planner, v, strength)
  local c = setmetatable({}, EditConstraint)
  c:init(planner, v, strength)
  return c
end

function EditConstraint:is_input()
  return true
end

function EditConstraint:execute()
end

-- Binary constraints: two variables, either of which may be the output.

local BinaryConstraint = class(Constraint)

function BinaryConstraint:init(planner, v1, v2, strength)
  Constraint.init(self, planner, strength)
  self.v1 = v1
  self.v2 = v2
  self.direction = NONE
  self:add_constraint()
end

-- Pick the direction that lets this constraint override the weaker of its variables, unless
-- a variable was already determined in this pass (has the current mark).
function BinaryConstraint:choose_method(mark)
  local v1, v2, s = self.v1, self.v2, self.strength
  if v1.mark == mark then
    if v2.mark ~= mark and Strength.stronger(s, v2.walk_strength) then
      self.direction = FORWARD
    else
      self.direction = NONE
    end
  elseif v2.mark == mark then
    if v1.mark ~= mark and Strength.stronger(s, v1.walk_strength) then
      self.direction = BACKWARD
    else
      self.direction = NONE
    end
  elseif Strength.weaker(v1.walk_strength, v2.walk_strength) then
    self.direction = Strength.stronger(s, v1.walk_strength) and BACKWARD or NONE
  else
    self.direction = Strength.stronger(s, v2.walk_strength) and FORWARD or NONE
  end
end

function BinaryConstraint:add_to_graph()
  self.v1:add_constraint(self)
  self.v2:add_constraint(self)
  self.direction = NONE
end

function BinaryConstraint:is_satisfied()
  return self.direction ~= NONE
end

function BinaryConstraint:mark_inputs(mark)
  self:input().mark = mark
end

function BinaryConstraint:input()
  if self.direction == FORWARD then
    return self.v1
  end
  return self.v2
end

function BinaryConstraint:output()
  if self.direction == FORWARD then
    return self.v2
  end
  return self.v1
end

function BinaryConstraint:recalculate()
  local ihn, out = self:input(), self:output()
  out.walk_strength = Strength.weakest(self.strength, ihn.walk_strength)
  out.stay = ihn.stay
  if out.stay then
    self:execute()
  end
end

function BinaryConstraint:mark_unsatisfied()
  self.direction = NONE
end

function BinaryConstraint:inputs_known(mark)
  local i = self:input()
  return i.mark == mark or i.stay or i.determined_by == nil
end

function BinaryConstraint:remove_from_graph()
  if self.v1 then
    self.v1:remove_constraint(self)
  end
  if self.v2 then
    self.v2:remove_constraint(self)
  end
  self.direction = NONE
end

-- v1 == v2, in whichever direction is chosen.

local EqualityConstraint = class(BinaryConstraint)

function EqualityConstraint.new(planner, v1, v2, strength)
  local c = setmetatable({}, EqualityConstraint)
  c:init(planner, v1, v2, strength)
  return c
end

function EqualityConstraint:execute()
  self:output().value = self:input().value
end

-- v2 == v1 * scale + offset, where scale and offset are variables too.

local ScaleConstraint = class(BinaryConstraint)

function ScaleConstraint.new(planner, src, scale, offset, dest, strength)
  local c = setmetatable({scale = scale, offset = offset}, ScaleConstraint)
  c:init(planner, src, dest, strength)
  return c
end

function ScaleConstraint:add_to_graph()
  BinaryConstraint.add_to_graph(self)
  self.scale:add_constraint(self)
  self.offset:add_constraint(self)
end

function ScaleConstraint:remove_from_graph()
  BinaryConstraint.remove_from_graph(self)
  if self.scale then
    self.scale:remove_constraint(self)
  end
  if self.offset then
    self.offset:remove_constraint(self)
  end
end

function ScaleConstraint:mark_inputs(mark)
  BinaryConstraint.mark_inputs(self, mark)
  self.scale.mark = mark
  self.offset.mark = mark
end

function ScaleConstraint:execute()
  if self.direction == FORWARD then
    self.v2.value = self.v1.value * self.scale.value + self.offset.value
  else
    self.v1.value = (self.v2.value - self.offset.value) / self.scale.value
  end
end

function ScaleConstraint:recalculate()
  local ihn, out = self:input(), self:output()
  out.walk_strength = Strength.weakest(self.strength, ihn.walk_strength)
  out.stay = ihn.stay and self.scale.stay and self.offset.stay
  if out.stay then
    self:execute()
  end
end

-- The planner ---------------------------------------------------------------------------

local Planner = class()

function Planner.new()
  return setmetatable({current_mark = 0}, Planner)
end

function Planner:new_mark()
  self.current_mark = self.current_mark + 1
  return self.current_mark
end

-- Satisfy `c`, then re-satisfy whatever it overrode, and so on down the chain.
function Planner:incremental_add(c)
  local mark = self:new_mark()
  local overridden = c:satisfy(mark)
  while overridden do
    overridden = overridden:satisfy(mark)
  end
end

-- Remove `c` and re-satisfy the constraints that depended on it, strongest first.
function Planner:incremental_remove(c)
  local out = c:output()
  c:mark_unsatisfied()
  c:remove_from_graph()
  local unsatisfied = self:remove_propagate_from(out)
  for _, strength in ipairs(ALL_STRENGTHS) do
    for i = 1, #unsatisfied do
      local u = unsatisfied[i]
      if u.strength == strength then
        self:incremental_add(u)
      end
    end
  end
end

-- The constraints whose outputs must be recomputed, in order, when the inputs of `sources`
-- change.
function Planner:make_plan(sources)
  local mark = self:new_mark()
  local plan = Plan.new()
  local todo, head = sources, 1
  while head <= #todo do
    local c = todo[head]
    head = head + 1
    local out = c:output()
    if out.mark ~= mark and c:inputs_known(mark) then
      plan:add(c)
      out.mark = mark
      self:add_constraints_consuming_to(out, todo)
    end
  end
  return plan
end

function Planner:extract_plan_from_constraints(constraints)
  local sources = {}
  for _, c in ipairs(constraints) do
    if c:is_input() and c:is_satisfied() then
      sources[#sources + 1] = c
    end
  end
  return self:make_plan(sources)
end

-- Recompute the walkabout strengths and stay flags downstream of `c`; false on a cycle.
function Planner:add_propagate(c, mark)
  local todo = {c}
  while #todo > 0 do
    local d = table.remove(todo)
    if d:output().mark == mark then
      self:incremental_remove(c)
      return false
    end
    d:recalculate()
    self:add_constraints_consuming_to(d:output(), todo)
  end
  return true
end

-- Reset everything downstream of `out` and collect the unsatisfied constraints found there.
function Planner:remove_propagate_from(out)
  out.determined_by = nil
  out.walk_strength = WEAKEST
  out.stay = true
  local unsatisfied = {}
  local todo = {out}
  while #todo > 0 do
    local v = table.remove(todo)
    local cs = v.constraints
    for i = 1, #cs do
      local c = cs[i]
      if not c:is_satisfied() then
        unsatisfied[#unsatisfied + 1] = c
      end
    end
    local determining = v.determined_by
    for i = 1, #cs do
      local nxt = cs[i]
      if nxt ~= determining and nxt:is_satisfied() then
        nxt:recalculate()
        todo[#todo + 1] = nxt:output()
      end
    end
  end
  return unsatisfied
end

function Planner:add_constraints_consuming_to(v, coll)
  local determining = v.determined_by
  local cs = v.constraints
  for i = 1, #cs do
    local c = cs[i]
    if c ~= determining and c:is_satisfied() then
      coll[#coll + 1] = c
    end
  end
end

-- The workloads -------------------------------------------------------------------------

-- Returns a number summarising the run.
local function chain_test(n)
  local planner = Planner.new()
  local prev, first, last
  for i = 0, n do
    local v = Variable.new("v" .. i, 0)
    if prev then
      EqualityConstraint.new(planner, prev, v, REQUIRED)
    end
    if i == 0 then
      first = v
    end
    if i == n then
      last = v
    end
    prev = v
  end
  StayConstraint.new(planner, last, STRONG_DEFAULT)
  local edit = EditConstraint.new(planner, first, PREFERRED)
  local plan = planner:extract_plan_from_constraints({edit})
  assert(plan:size() == n + 1, "chain plan has the wrong length")
  local total = 0
  for i = 0, 99 do
    first.value = i
    plan:execute()
    assert(last.value == i, "chain did not propagate")
    total = total + last.value
  end
  edit:destroy_constraint()
  return total + plan:size() + planner.current_mark
end

-- Edit `v` to `new_value` through a temporary edit constraint.
local function change(planner, v, new_value)
  local edit = EditConstraint.new(planner, v, PREFERRED)
  local plan = planner:extract_plan_from_constraints({edit})
  for _ = 1, 10 do
    v.value = new_value
    plan:execute()
  end
  edit:destroy_constraint()
  return plan:size()
end

local function projection_test(n)
  local planner = Planner.new()
  local scale = Variable.new("scale", 10)
  local offset = Variable.new("offset", 1000)
  local src, dst
  local dests = {}
  for i = 0, n - 1 do
    src = Variable.new("src" .. i, i)
    dst = Variable.new("dst" .. i, i)
    dests[#dests + 1] = dst
    StayConstraint.new(planner, src, NORMAL)
    ScaleConstraint.new(planner, src, scale, offset, dst, REQUIRED)
  end
  local sizes = 0
  sizes = sizes + change(planner, src, 17)
  assert(dst.value == 1170, "projection 1 failed")
  sizes = sizes + change(planner, dst, 1050)
  assert(src.value == 5, "projection 2 failed")
  sizes = sizes + change(planner, scale, 5)
  for i = 0, n - 2 do
    assert(dests[i + 1].value == i * 5 + 1000, "projection 3 failed")
  end
  sizes = sizes + change(planner, offset, 2000)
  local sum = 0
  for i = 0, n - 2 do
    assert(dests[i + 1].value == i * 5 + 2000, "projection 4 failed")
    sum = sum + dests[i + 1].value
  end
  return sum + sizes + planner.current_mark
end

function bench(size)
  local a = chain_test(size)
  local b = projection_test(size)
  return string.format("%d %d", a, b)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
