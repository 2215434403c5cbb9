-- A JSON parser and serialiser: a Decoder class that tokenises with string.byte, string.find
-- and string.sub (escapes, \u code points encoded as UTF-8, numbers, nesting), and an
-- Encoder class that builds compact or indented text in a buffer joined with table.concat
-- (escaping control characters, sorting object keys so the output is deterministic).
--
-- Each iteration generates a document of `size` records (nested objects, arrays, strings
-- with escapes and non-ASCII text, integers and fractions, booleans, nulls) from a
-- deterministic pseudo-random generator, encodes it compactly, decodes that, checks the
-- result is deeply equal to the original, encodes it indented, decodes and re-encodes that,
-- and checks the compact texts are identical. It then runs a few queries over the decoded
-- tree. The checksum combines the text lengths, a hash of the text and the query results.

local floor = math.floor
local byte, sub, find, char, format = string.byte, string.sub, string.find, string.char,
  string.format
local concat = table.concat

local function class()
  local c = {}
  c.__index = c
  return c
end

-- The JSON null, distinct from a missing key.
local NULL = setmetatable({}, {__tostring = function() return "null" end})

-- A Park-Miller minimal standard generator: products stay below 2^53, so 5.1's doubles and
-- 5.4's integers compute the same sequence.
local Random = class()

function Random.new(seed)
  return setmetatable({seed = seed}, Random)
end

function Random:next()
  self.seed = (self.seed * 16807) % 2147483647
  return self.seed
end

-- An integer in [lo, hi].
function Random:range(lo, hi)
  return lo + self:next() % (hi - lo + 1)
end

function Random:pick(list)
  return list[self:range(1, #list)]
end

-- Encoding -------------------------------------------------------------------------------

local Encoder = class()

-- The escape for every byte that cannot appear raw inside a JSON string.
local ESCAPES = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}
for b = 0, 31 do
  local c = char(b)
  if not ESCAPES[c] then
    ESCAPES[c] = format("\\u%04x", b)
  end
end
ESCAPES["\127"] = "\\u007f"

function Encoder.new(indent)
  return setmetatable({indent = indent, buf = {}, n = 0, depth = 0}, Encoder)
end

function Encoder:put(s)
  local n = self.n + 1
  self.buf[n] = s
  self.n = n
end

function Encoder:newline()
  if self.indent then
    self:put("\n" .. string.rep(self.indent, self.depth))
  end
end

function Encoder:string(s)
  self:put('"')
  if find(s, '[%c"\\]') then
    s = string.gsub(s, '[%c"\\]', ESCAPES)
  end
  self:put(s)
  self:put('"')
end

-- Integers print as integers; other numbers with the fewest digits that read back exactly.
function Encoder:number(x)
  if x ~= x or x == math.huge or x == -math.huge then
    error("JSON cannot represent " .. tostring(x))
  end
  if x == floor(x) and x > -2^53 and x < 2^53 then
    self:put(format("%d", x))
  else
    local s = format("%.14g", x)
    if tonumber(s) ~= x then
      s = format("%.17g", x)
    end
    self:put(s)
  end
end

-- A table is an array if its keys are exactly 1..n (an empty table is an empty array).
local function is_array(t)
  local n = #t
  local count = 0
  for _ in pairs(t) do
    count = count + 1
  end
  return count == n
end

function Encoder:value(v)
  local t = type(v)
  if t == "string" then
    self:string(v)
  elseif t == "number" then
    self:number(v)
  elseif t == "boolean" then
    self:put(v and "true" or "false")
  elseif v == NULL then
    self:put("null")
  elseif t == "table" then
    if is_array(v) then
      self:array(v)
    else
      self:object(v)
    end
  else
    error("cannot encode a " .. t)
  end
end

function Encoder:array(a)
  if #a == 0 then
    self:put("[]")
    return
  end
  self:put("[")
  self.depth = self.depth + 1
  for i = 1, #a do
    if i > 1 then
      self:put(",")
    end
    self:newline()
    self:value(a[i])
  end
  self.depth = self.depth - 1
  self:newline()
  self:put("]")
end

function Encoder:object(o)
  local keys = {}
  for k in pairs(o) do
    if type(k) ~= "string" then
      error("object keys must be strings")
    end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  self:put("{")
  self.depth = self.depth + 1
  for i, k in ipairs(keys) do
    if i > 1 then
      self:put(",")
    end
    self:newline()
    self:string(k)
    self:put(self.indent and ": " or ":")
    self:value(o[k])
  end
  self.depth = self.depth - 1
  self:newline()
  self:put("}")
end

function Encoder:result()
  return concat(self.buf, "", 1, self.n)
end

local function encode(v, indent)
  local e = Encoder.new(indent)
  e:value(v)
  return e:result()
end

-- Decoding -------------------------------------------------------------------------------

local B_QUOTE, B_BACKSLASH, B_LBRACE, B_RBRACE, B_LBRACKET, B_RBRACKET, B_COMMA, B_COLON =
  byte('"'), byte("\\"), byte("{"), byte("}"), byte("["), byte("]"), byte(","), byte(":")
local B_MINUS, B_0, B_9 = byte("-"), byte("0"), byte("9")
local B_T, B_F, B_N, B_U = byte("t"), byte("f"), byte("n"), byte("u")

local SIMPLE_ESCAPES = {[byte('"')] = '"', [byte("\\")] = "\\", [byte("/")] = "/",
                        [byte("b")] = "\b", [byte("f")] = "\f", [byte("n")] = "\n",
                        [byte("r")] = "\r", [byte("t")] = "\t"}

local Decoder = class()

function Decoder.new(text)
  return setmetatable({text = text, pos = 1}, Decoder)
end

function Decoder:fail(what)
  error(format("JSON error at byte %d: %s", self.pos, what))
end

-- Skip white space; returns the next byte (nil at the end).
function Decoder:skip()
  local pos = find(self.text, "[^ \t\r\n]", self.pos)
  if not pos then
    self.pos = #self.text + 1
    return nil
  end
  self.pos = pos
  return byte(self.text, pos)
end

function Decoder:expect(b, what)
  if self:skip() ~= b then
    self:fail("expected " .. what)
  end
  self.pos = self.pos + 1
end

function Decoder:literal(word, value)
  if sub(self.text, self.pos, self.pos + #word - 1) ~= word then
    self:fail("bad literal")
  end
  self.pos = self.pos + #word
  return value
end

-- The UTF-8 encoding of a code point, without 5.3's utf8 library.
local function utf8_char(cp)
  if cp < 0x80 then
    return char(cp)
  elseif cp < 0x800 then
    return char(0xC0 + floor(cp / 64), 0x80 + cp % 64)
  elseif cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
              0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

function Decoder:hex4()
  local h = sub(self.text, self.pos, self.pos + 3)
  if not find(h, "^%x%x%x%x$") then
    self:fail("bad \\u escape")
  end
  self.pos = self.pos + 4
  return tonumber(h, 16)
end

function Decoder:string()
  local text = self.text
  local pos = self.pos + 1 -- after the opening quote
  local parts, n = nil, 0
  while true do
    local stop = find(text, '["\\%c]', pos)
    if not stop then
      self.pos = pos
      self:fail("unterminated string")
    end
    local b = byte(text, stop)
    if b == B_QUOTE then
      self.pos = stop + 1
      if parts == nil then
        return sub(text, pos, stop - 1)
      end
      n = n + 1
      parts[n] = sub(text, pos, stop - 1)
      return concat(parts, "", 1, n)
    elseif b ~= B_BACKSLASH then
      self.pos = stop
      self:fail("control character in string")
    end
    parts = parts or {}
    n = n + 1
    parts[n] = sub(text, pos, stop - 1)
    local e = byte(text, stop + 1)
    local simple = SIMPLE_ESCAPES[e]
    if simple then
      n = n + 1
      parts[n] = simple
      pos = stop + 2
    elseif e == B_U then
      self.pos = stop + 2
      local cp = self:hex4()
      if cp >= 0xD800 and cp <= 0xDBFF then
        -- A surrogate pair.
        if sub(text, self.pos, self.pos + 1) ~= "\\u" then
          self:fail("lone surrogate")
        end
        self.pos = self.pos + 2
        local lo = self:hex4()
        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
      end
      n = n + 1
      parts[n] = utf8_char(cp)
      pos = self.pos
    else
      self.pos = stop
      self:fail("bad escape")
    end
  end
end

function Decoder:number()
  local s, e = find(self.text, "^-?%d+%.?%d*[eE]?[-+]?%d*", self.pos)
  if not s then
    self:fail("bad number")
  end
  local x = tonumber(sub(self.text, s, e))
  if x == nil then
    self:fail("bad number")
  end
  self.pos = e + 1
  return x
end

function Decoder:array()
  self.pos = self.pos + 1
  local a, n = {}, 0
  if self:skip() == B_RBRACKET then
    self.pos = self.pos + 1
    return a
  end
  while true do
    n = n + 1
    a[n] = self:value()
    local b = self:skip()
    self.pos = self.pos + 1
    if b == B_RBRACKET then
      return a
    elseif b ~= B_COMMA then
      self.pos = self.pos - 1
      self:fail("expected , or ]")
    end
  end
end

function Decoder:object()
  self.pos = self.pos + 1
  local o = {}
  if self:skip() == B_RBRACE then
    self.pos = self.pos + 1
    return o
  end
  while true do
    if self:skip() ~= B_QUOTE then
      self:fail("expected a key")
    end
    local k = self:string()
    self:expect(B_COLON, ":")
    o[k] = self:value()
    local b = self:skip()
    self.pos = self.pos + 1
    if b == B_RBRACE then
      return o
    elseif b ~= B_COMMA then
      self.pos = self.pos - 1
      self:fail("expected , or }")
    end
  end
end

function Decoder:value()
  local b = self:skip()
  if b == B_QUOTE then
    return self:string()
  elseif b == B_LBRACE then
    return self:object()
  elseif b == B_LBRACKET then
    return self:array()
  elseif b == B_MINUS or (b and b >= B_0 and b <= B_9) then
    return self:number()
  elseif b == B_T then
    return self:literal("true", true)
  elseif b == B_F then
    return self:literal("false", false)
  elseif b == B_N then
    return self:literal("null", NULL)
  end
  self:fail("unexpected " .. (b and char(b) or "end of input"))
end

local function decode(text)
  local d = Decoder.new(text)
  local v = d:value()
  if d:skip() ~= nil then
    d:fail("trailing text")
  end
  return v
end

-- Documents ------------------------------------------------------------------------------

local WORDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
               "caf\195\169", "na\195\175ve", "\226\130\172uro", "line\nbreak",
               'say "hi"', "back\\slash", "tab\there", "bell\7", "\240\159\152\128"}
local CITIES = {"Lisbon", "Oslo", "Kyoto", "Quito", "Accra", "Perth", "Lima", "Riga"}

local function sentence(rng, words)
  local parts = {}
  for i = 1, words do
    parts[i] = rng:pick(WORDS)
  end
  return concat(parts, " ")
end

local function make_record(rng, id)
  local tags = {}
  for i = 1, rng:range(0, 5) do
    tags[i] = rng:pick(WORDS)
  end
  local matrix = {}
  for i = 1, rng:range(1, 3) do
    local row = {}
    for j = 1, 4 do
      row[j] = rng:range(-1000, 1000) / 8
    end
    matrix[i] = row
  end
  return {
    id = id,
    name = sentence(rng, rng:range(1, 4)),
    active = rng:range(0, 1) == 1,
    score = rng:range(0, 100000) / 1000,
    big = rng:range(0, 2147483646) * 1000,
    parent = id > 1 and rng:range(1, id - 1) or NULL,
    tags = tags,
    address = {city = rng:pick(CITIES), zip = format("%05d", rng:range(0, 99999)),
               geo = {lat = rng:range(-90000, 90000) / 1000,
                      lon = rng:range(-180000, 180000) / 1000}},
    matrix = matrix,
    notes = {},
  }
end

local function make_document(size)
  local rng = Random.new(12345)
  local records = {}
  for i = 1, size do
    records[i] = make_record(rng, i)
  end
  return {version = 3, generator = "bench \"json\"", empty = {}, records = records}
end

-- Structural equality of decoded values.
local function deep_equal(a, b)
  if a == b then
    return true
  end
  if type(a) ~= "table" or type(b) ~= "table" or a == NULL or b == NULL then
    return false
  end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then
      return false
    end
  end
  for k in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

-- A hash of every 7th byte of `s`, kept below 2^31.
local function text_hash(s)
  local h = #s
  for i = 1, #s, 7 do
    h = (h * 31 + byte(s, i)) % 2147483647
  end
  return h
end

-- Queries over the decoded records: active records per city, the total of the rounded scores
-- and the longest chain of parent links.
local function query(doc)
  local per_city = {}
  local score = 0
  local records = doc.records
  for _, r in ipairs(records) do
    if r.active then
      local city = r.address.city
      per_city[city] = (per_city[city] or 0) + 1
    end
    score = score + floor(r.score + 0.5)
  end
  local longest = 0
  for i = #records, math.max(1, #records - 50), -1 do
    local depth, r = 0, records[i]
    while r.parent ~= NULL do
      depth = depth + 1
      r = records[r.parent]
    end
    if depth > longest then
      longest = depth
    end
  end
  local cities = {}
  for city, n in pairs(per_city) do
    cities[#cities + 1] = city .. "=" .. n
  end
  table.sort(cities)
  return concat(cities, ","), score, longest
end

function bench(size)
  local doc = make_document(size)
  local compact = encode(doc)
  local decoded = decode(compact)
  assert(deep_equal(doc, decoded), "compact round trip changed the document")
  local pretty = encode(decoded, "  ")
  assert(#pretty > #compact, "indented text is not longer")
  local again = decode(pretty)
  assert(deep_equal(doc, again), "indented round trip changed the document")
  local compact2 = encode(again)
  assert(compact2 == compact, "re-encoding is not identical")
  -- A hand-written document exercising the escapes the encoder never writes.
  local probe = decode(' { "a" : [ 1 , -2.5e3 , "\\u00e9\\ud83d\\ude00\\/" ] , "b" : { } } ')
  assert(probe.a[2] == -2500 and probe.a[3] == "\195\169\240\159\152\128/", "escapes")
  local cities, score, longest = query(again)
  return format("%d %d %d %d %d %s", #compact, #pretty, text_hash(compact), score, longest,
                cities)
end

local harness = dofile((arg[0]:match("^(.*[/\\])") or "./") .. "harness.lua")
harness.run(bench)
