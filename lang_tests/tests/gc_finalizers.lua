-- jit: compiled
-- Run-time:
--   stdout:
--     finalized	196	first	1	last	199
--     alive ones finalized:	false
--     late __gc called:	false
--     resurrected	phoenix	finalizer runs	1
--     finalizer runs after dropping it again	1
--     end of script
--     closing the state: finalizing the survivors

-- __gc finalizers: run by a full collection for unreachable objects only, once each,
-- with the object accessible inside the finalizer; resurrection; finalizers of the objects
-- still alive run when the state is closed at exit (after the last line of the script).

local finalized = {}
local mt = { __gc = function(o) finalized[#finalized + 1] = o.id end }
local alive = {}
for i = 1, 200 do
  local o = setmetatable({ id = i }, mt)
  if i % 50 == 0 then alive[#alive + 1] = o end
end
collectgarbage()
collectgarbage()
table.sort(finalized)
print("finalized", #finalized, "first", finalized[1], "last", finalized[#finalized])
local has_alive = false
for _, id in ipairs(finalized) do if id % 50 == 0 then has_alive = true end end
print("alive ones finalized:", has_alive)

-- A __gc field added after setmetatable doesn't mark the object for finalization.
local late_called = false
local late_mt = {}
local late = setmetatable({}, late_mt)
late_mt.__gc = function() late_called = true end
late = nil
collectgarbage()
print("late __gc called:", late_called)

-- Resurrection: a finalizer storing its object keeps it reachable (but it isn't finalized
-- again).
local saved
local count = 0
do
  setmetatable({ tag = "phoenix" }, { __gc = function(o) count = count + 1; saved = o end })
end
collectgarbage()
collectgarbage()
print("resurrected", saved and saved.tag, "finalizer runs", count)
saved = nil
collectgarbage()
print("finalizer runs after dropping it again", count)

-- Objects still alive at exit are finalized when the interpreter closes the state.
setmetatable(alive, { __gc = function() io.write("closing the state: finalizing the survivors\n") end })
print("end of script")
