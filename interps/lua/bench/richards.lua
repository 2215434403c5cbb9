-- A Richards-like operating-system scheduler simulation: six tasks (an idle task, a worker,
-- two handlers and two devices) exchange packets through queues, and a priority scheduler
-- runs the highest-priority task that can run. Method-call-heavy and branchy. The checksum
-- is the number of packets queued and the number of times a task held itself.

local IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = 1, 2, 3, 4, 5, 6
local WORK, DEVICE = 1, 2

local Scheduler = {}
Scheduler.__index = Scheduler

local function packet(link, id, kind)
  return {link = link, id = id, kind = kind, a1 = 0, a2 = {0, 0, 0, 0}}
end

-- Append `pkt` to the queue starting at `queue`; returns the new head.
local function append(pkt, queue)
  pkt.link = nil
  if queue == nil then
    return pkt
  end
  local p = queue
  while p.link do
    p = p.link
  end
  p.link = pkt
  return queue
end

function Scheduler:add(id, pri, queue, fn, data)
  local t = {id = id, pri = pri, queue = queue, fn = fn, data = data,
             waiting = queue ~= nil, held = false}
  self.tasks[id] = t
  -- Keep the task list sorted by decreasing priority.
  if self.list == nil or self.list.pri < pri then
    t.link = self.list
    self.list = t
  else
    local p = self.list
    while p.link and p.link.pri >= pri do
      p = p.link
    end
    t.link = p.link
    p.link = t
  end
end

-- The scheduling primitives: each returns the task the scheduler should consider next.
function Scheduler:wait()
  self.current.waiting = true
  return self.current
end

function Scheduler:hold()
  self.hold_count = self.hold_count + 1
  self.current.held = true
  return self.current.link
end

function Scheduler:release(id)
  local t = self.tasks[id]
  t.held = false
  if t.pri > self.current.pri then
    return t
  end
  return self.current
end

-- Queue `pkt` on the task it is addressed to; the packet then names its sender.
function Scheduler:qpkt(pkt)
  local t = self.tasks[pkt.id]
  self.queue_count = self.queue_count + 1
  pkt.id = self.current.id
  if t.queue == nil then
    pkt.link = nil
    t.queue = pkt
    if t.pri > self.current.pri then
      return t
    end
  else
    t.queue = append(pkt, t.queue)
  end
  return self.current
end

function Scheduler:run()
  local t = self.list
  while t do
    if t.held or (t.waiting and t.queue == nil) then
      t = t.link
    else
      local pkt
      if t.waiting then
        pkt = t.queue
        t.queue = pkt.link
        t.waiting = false
      end
      self.current = t
      t = t.fn(self, t.data, pkt)
    end
  end
end

local function idle_fn(s, d)
  d.count = d.count - 1
  if d.count == 0 then
    return s:hold()
  end
  d.seed = (d.seed * 5 + 1) % 65536
  if d.seed % 2 == 0 then
    return s:release(DEVICE_A)
  end
  return s:release(DEVICE_B)
end

local function worker_fn(s, d, pkt)
  if pkt == nil then
    return s:wait()
  end
  d.dest = d.dest == HANDLER_A and HANDLER_B or HANDLER_A
  pkt.id = d.dest
  pkt.a1 = 0
  for i = 1, 4 do
    d.count = d.count + 1
    if d.count > 26 then
      d.count = 1
    end
    pkt.a2[i] = d.count
  end
  return s:qpkt(pkt)
end

local function handler_fn(s, d, pkt)
  if pkt then
    if pkt.kind == WORK then
      d.work = append(pkt, d.work)
    else
      d.devices = append(pkt, d.devices)
    end
  end
  local w = d.work
  if w then
    local n = w.a1
    if n >= 4 then
      d.work = w.link
      return s:qpkt(w)
    end
    local dev = d.devices
    if dev then
      d.devices = dev.link
      dev.a1 = w.a2[n + 1]
      w.a1 = n + 1
      return s:qpkt(dev)
    end
  end
  return s:wait()
end

local function device_fn(s, d, pkt)
  if pkt == nil then
    local p = d.pending
    if p == nil then
      return s:wait()
    end
    d.pending = nil
    d.sum = d.sum + p.a1
    return s:qpkt(p)
  end
  d.pending = pkt
  return s:hold()
end

local function bench(size)
  local s = setmetatable({tasks = {}, queue_count = 0, hold_count = 0}, Scheduler)
  s:add(IDLE, 0, nil, idle_fn, {count = size, seed = 1})
  s:add(WORKER, 1000, packet(packet(nil, WORKER, WORK), WORKER, WORK), worker_fn,
        {dest = HANDLER_B, count = 0})
  local qa = packet(packet(packet(nil, DEVICE_A, DEVICE), DEVICE_A, DEVICE), DEVICE_A, DEVICE)
  s:add(HANDLER_A, 2000, qa, handler_fn, {})
  local qb = packet(packet(packet(nil, DEVICE_B, DEVICE), DEVICE_B, DEVICE), DEVICE_B, DEVICE)
  s:add(HANDLER_B, 3000, qb, handler_fn, {})
  local da, db = {sum = 0}, {sum = 0}
  s:add(DEVICE_A, 4000, nil, device_fn, da)
  s:add(DEVICE_B, 5000, nil, device_fn, db)
  s:run()
  return string.format("%d %d %d", s.queue_count, s.hold_count, da.sum + db.sum)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
